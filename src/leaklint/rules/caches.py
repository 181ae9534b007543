"""LL2xx: caches and global state that grow for as long as the process lives."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, ImportSpec, Invalid, Rule, Valid
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import state
from leaklint.semantics.names import matches

BOUNDED_SUGGESTION = {
    "list": "a `collections.deque(maxlen=...)`",
    "deque": "a `collections.deque(maxlen=...)`",
}
DEFAULT_SUGGESTION = "a bounded cache (`cachetools.TTLCache` / `LRUCache`, `functools.lru_cache(maxsize=...)`)"


@dataclass
class _Growth:
    node: cst.CSTNode
    #: enclosing functions, outermost first, with their dotted paths
    functions: Tuple[cst.FunctionDef, ...]
    paths: Tuple[str, ...]
    per_request: bool


@dataclass
class _Container:
    kind: str
    grows: List[_Growth] = field(default_factory=list)
    #: functions (by identity) that also read the container: ``if k in X`` / ``X.get(k)`` / ``X[k]``
    readers: Set[int] = field(default_factory=set)
    evicted: bool = False
    escaped: bool = False


def _qualified_head(ctx, expr: cst.BaseExpression) -> frozenset:
    if isinstance(expr, cst.Call):
        expr = expr.func
    return ctx.qualify(expr)


class UnboundedModuleContainer(Rule):
    """## What it does
    Finds a module-level container (`dict`, `list`, `set`, `defaultdict`, `OrderedDict`, `Counter`,
    a `deque` without `maxlen`) that code running per call adds to (`X[k] = v`, `append`,
    `add`, `update`, `setdefault`, `+=`, ...) while nothing in the module ever removes from it:
    no `pop`/`popitem`/`del`/`clear`/`remove`/`discard`, no reassignment, no `len(X)` size check.

    A growth site is reported when it runs per request: in a route, dependency or middleware, or
    a function of the same module they call. Stores under a constant key (`X["config"] = v`) are
    bounded and not reported.

    ## Why is this bad?
    A module-level container lives as long as the worker process. Filling it from request data
    (user ids, URLs, tokens) adds an entry per distinct value, forever: the worker's memory grows
    until it is killed.

    ## Example
    ```python
    _users = {}

    @app.get("/users/{user_id}")
    def get_user(user_id: int):
        if user_id not in _users:
            _users[user_id] = load_user(user_id)
        return _users[user_id]
    ```

    Use instead:
    ```python
    from cachetools import TTLCache

    _users = TTLCache(maxsize=1024, ttl=300)
    ```
    or `collections.deque(maxlen=...)` for a history list.

    ## Known problems
    Only growth reached per request is reported, so registries filled while code is imported
    (decorators, module-level calls, `__init_subclass__`) are never reported, and neither is a memo
    in a helper that routes in *other* modules call (the per-request call graph stays inside one
    module). A container imported by another linted module, passed to a function, returned or aliased is
    assumed to be managed elsewhere. Uses through `import module; module.X` in other modules are
    not seen.
    """

    code = "LL201"
    name = "unbounded-module-container"
    message = "Module-level {kind} `{var}` grows on every request in `{func}` and nothing removes entries: use {suggestion}"
    family = "caches"

    valid = [
        # decorator registry: filled when the decorated functions are imported
        """
HANDLERS = {}

def handler(name):
    def decorator(fn):
        HANDLERS[name] = fn
        return fn
    return decorator

@handler("ping")
def ping():
    return "pong"
""",
        # filled by calls at module level
        """
ROUTES = []

def add_route(path):
    ROUTES.append(path)

add_route("/")
add_route("/health")
""",
        # a cache with eviction
        """
from fastapi import FastAPI

app = FastAPI()
_cache = {}

@app.get("/items/{key}")
def item(key: str):
    if key not in _cache:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[key] = key.upper()
    return _cache[key]
""",
        # bounded deque, weak containers, read-only table
        """
import collections
import weakref
from fastapi import FastAPI

app = FastAPI()
history = collections.deque(maxlen=100)
recent = collections.deque([], 50)
live = weakref.WeakValueDictionary()
CODES = {"a": 1}

@app.get("/")
def index(q: str):
    history.append(q)
    recent.append(q)
    live[q] = object()
    return CODES.get(q)
""",
        # the local name shadows the module container
        """
from fastapi import FastAPI

app = FastAPI()
seen = []

@app.get("/")
def index(q: str):
    seen = []
    seen.append(q)
    return seen
""",
        # cleared from another linted module
        Valid("""
from fastapi import FastAPI

app = FastAPI()
SEEN = set()

@app.get("/")
def index(q: str):
    SEEN.add(q)
""", files={"app/__init__.py": "", "app/admin.py": """
from app.main import SEEN

def reset():
    SEEN.clear()
"""}, path="app/main.py"),
        # pruned by rebinding through `global`
        """
from fastapi import FastAPI

app = FastAPI()
events = []

@app.post("/event")
async def event(e: dict):
    global events
    events.append(e)
    events = events[-100:]
""",
        # a plain helper that appends (not per request, not a memo): not reported
        """
errors = []

def collect(error):
    errors.append(error)
""",
        # constant keys: a fixed set of entries (lazily initialised singletons)
        """
from fastapi import FastAPI

app = FastAPI()
STATE = {}

@app.get("/")
def index():
    if "client" not in STATE:
        STATE["client"] = object()
    STATE["hits", "total"] = 1
    return {}
""",
        # a memo keyed by configuration in a plain helper: not per request
        """
_TYPE_ADAPTERS = {}

def adapter_for(tp):
    if tp not in _TYPE_ADAPTERS:
        _TYPE_ADAPTERS[tp] = object()
    return _TYPE_ADAPTERS[tp]
""",
        # class registry through __init_subclass__
        """
PLUGINS = {}

class Plugin:
    def __init_subclass__(cls, **kwargs):
        PLUGINS[cls.__name__] = cls
""",
    ]
    invalid = [
        Invalid("""
from fastapi import FastAPI

app = FastAPI()
_users = {}

@app.get("/users/{user_id}")
def get_user(user_id: int):
    if user_id not in _users:
        _users[user_id] = {"id": user_id}
    return _users[user_id]
""", line=9, column=9, message="Module-level dict `_users` grows on every request in `get_user`"),
        # a helper called by a middleware, with an aliased import of defaultdict
        Invalid("""
from collections import defaultdict as dd
from fastapi import FastAPI, Request

app = FastAPI()
_hits = dd(list)

def record(user, path):
    _hits[user].append(path)

@app.middleware("http")
async def track(request: Request, call_next):
    record(request.client.host, request.url.path)
    return await call_next(request)
""", line=8, message="grows on every request in `record`"),
        Invalid("""
from collections import deque
from fastapi import APIRouter

router = APIRouter()
log = deque()

@router.post("/log")
async def add(line: str):
    log.append(line)
""", line=9, message="use a `collections.deque(maxlen=...)`"),
        # reached per request through a dependency defined in another module
        Invalid("""
seen_tokens = set()

def check_token(token: str):
    seen_tokens.add(token)
    return token
""", files={"app/__init__.py": "", "app/routes.py": """
from fastapi import APIRouter, Depends
from app.security import check_token

router = APIRouter()

@router.get("/")
def index(token=Depends(check_token)):
    return {}
"""}, path="app/security.py", line=4, message="in `check_token`"),
    ]

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        # growth is only reported in per-request code (see leave_Module)
        return bool(state.module_containers(summary)) and web.has_per_request_code(summary, project)

    def visit_Module(self, node: cst.Module) -> None:
        self.containers: Dict[str, _Container] = {
            name: _Container(kind) for name, kind in state.module_containers(self.ctx.summary).items()}
        self.prefix = self.ctx.summary.module + "."
        #: qualified names used as decorators / called at module level (import-time code)
        self.import_time: Set[str] = set()
        imported = state.imported_elsewhere(self.ctx.project)
        for name, container in self.containers.items():
            if self.prefix + name in imported:
                container.escaped = True

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.ctx.in_module_scope() and state.bounded_deque(self.ctx, node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value in self.containers:
                    del self.containers[target.target.value]

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self.import_time |= _qualified_head(self.ctx, node.decorator)

    def visit_Call(self, node: cst.Call) -> None:
        if not any(isinstance(n, cst.FunctionDef) for n in self.ctx.stack):
            self.import_time |= self.ctx.qualify(node.func)

    def visit_Name(self, node: cst.Name) -> None:
        container = self.containers.get(node.value)
        if container is None or container.escaped or container.evicted:
            return
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return
        if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias)) or (
                isinstance(parent, cst.Arg) and parent.keyword is node):
            return
        if self.ctx.qualify(node) != {self.prefix + node.value}:
            return
        functions = tuple(n for n in self.ctx.stack if isinstance(n, cst.FunctionDef))
        use = state.classify_use(self.ctx, node, self.ctx.parent)
        if not functions:
            if use.kind == "evict" and not isinstance(use.node, (cst.AssignTarget, cst.AnnAssign)):
                container.evicted = True
            elif use.kind == "escape" and not isinstance(use.node, (cst.AssignTarget, cst.AnnAssign, cst.Assign)):
                container.escaped = True
            return
        if use.kind == "evict":
            container.evicted = True
        elif use.kind == "escape":
            container.escaped = True
        elif use.kind == "grow":
            per_request = any(web.runs_per_request(self.ctx, f) for f in functions)
            paths = tuple(self.ctx.function_path(f) for f in functions)
            container.grows.append(_Growth(use.node, functions, paths, per_request))
        else:
            container.readers.add(id(functions[-1]))

    def leave_Module(self, original_node: cst.Module) -> None:
        for name, container in self.containers.items():
            if container.evicted or container.escaped:
                continue
            for growth in container.grows:
                # only code that runs per request: memo caches elsewhere are almost always keyed by
                # configuration, types or code objects (bounded by the code base, not by traffic)
                if not growth.per_request or state.constant_key(growth.node):
                    continue
                suggestion = BOUNDED_SUGGESTION.get(container.kind, DEFAULT_SUGGESTION)
                self.report(growth.node, kind=container.kind, var=name, func=growth.functions[-1].name.value,
                            suggestion=suggestion)
                break

    def _import_time(self, fn: cst.FunctionDef, path: str) -> bool:
        return state.is_registration_function(fn) or self.prefix + path in self.import_time


# -- LL202 / LL203 -----------------------------------------------------------------------------

class _CacheRule(Rule):
    family = "caches"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return state.decorates_with_cache(summary, project)


class UnboundedFunctionCache(_CacheRule):
    """## What it does
    Finds `functools.cache`, `lru_cache(maxsize=None)` and `lru_cache(None)` (any alias) on a
    function that takes arguments. ruff's UP033 rewrites `lru_cache(maxsize=None)` into `cache`:
    both spellings are this one finding.

    ## Why is this bad?
    An unbounded cache keeps one entry per distinct argument tuple for the life of the process.
    Called with request data (ids, query strings, tokens), it grows with traffic and never shrinks.
    A zero-argument function (the `get_settings()` idiom) holds a single entry and is not reported,
    nor is a function whose every argument is a `bool`, a class (`type[...]`, `cls`), a `Callable`
    or a `Literal[...]`: its keys are bounded by the code base.

    ## Example
    ```python
    @lru_cache(maxsize=None)
    def user_permissions(user_id: int) -> set[str]:
        ...
    ```

    Use instead:
    ```python
    @lru_cache(maxsize=128)
    def user_permissions(user_id: int) -> set[str]:
        ...
    ```

    ## Fix safety
    The fix bounds the cache at 128 entries (`lru_cache(maxsize=128)`, importing `lru_cache` from
    `functools` when needed). It is **unsafe**: entries are now evicted, so the function runs again
    for evicted arguments; code that relies on getting the *same object* back for an argument (a
    per-key singleton) behaves differently. An unused `cache` import may be left behind.
    """

    code = "LL202"
    name = "unbounded-function-cache"
    message = "`{decorator}` on `{func}` keeps one entry per distinct argument forever: bound it with `lru_cache(maxsize=...)`"
    fix_title = "Bound the cache with `lru_cache(maxsize=128)`"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        # zero-argument factory: one entry
        """
from functools import lru_cache, cache

@lru_cache(maxsize=None)
def get_settings():
    return {}

@cache
def get_engine():
    return object()
""",
        # bounded
        """
import functools

@functools.lru_cache(maxsize=256)
def parse(text: str):
    return text.split()

@functools.lru_cache
def parse2(text: str):
    return text.split()
""",
        # a local `cache` that is not functools.cache
        """
def cache(fn):
    return fn

@cache
def compute(x):
    return x
""",
        # classmethod with only `cls`: one entry per class
        """
from functools import cache

class Model:
    @classmethod
    @cache
    def schema(cls):
        return {}
""",
        # flags, classes and callables: bounded by the code base
        """
from functools import cache
from typing import Callable, Literal, Type

@cache
def parser(strict: bool = False, mode: Literal["a", "b"] = "a"):
    return object()

@cache
def fields(model: Type[object], hook: Callable[[], None]):
    return []

@cache
def flag(kind: type[int]):
    return kind
""",
        # instance methods are LL203's
        """
from functools import cache

class Repo:
    @cache
    def find(self, key):
        return key
""",
    ]
    invalid = [
        Invalid("""
from functools import lru_cache

@lru_cache(maxsize=None)
def permissions(user_id: int):
    return {user_id}
""", line=3, column=2, message="`lru_cache(maxsize=None)` on `permissions`", fixed="""
from functools import lru_cache

@lru_cache(maxsize=128)
def permissions(user_id: int):
    return {user_id}
"""),
        Invalid("""
import functools as ft

@ft.cache
def resolve(host, port=80):
    return (host, port)
""", line=3, message="`cache` on `resolve`", fixed="""
import functools as ft

@ft.lru_cache(maxsize=128)
def resolve(host, port=80):
    return (host, port)
"""),
        Invalid("""
from functools import cache as memo

@memo  # per user
def lookup(*keys):
    return keys
""", line=3, fixed="""
from functools import lru_cache, cache as memo

@lru_cache(maxsize=128)  # per user
def lookup(*keys):
    return keys
"""),
        Invalid("""
from functools import lru_cache

class Users:
    @staticmethod
    @lru_cache(None, typed=True)
    def by_email(email):
        return email
""", line=5, fixed="""
from functools import lru_cache

class Users:
    @staticmethod
    @lru_cache(maxsize=128, typed=True)
    def by_email(email):
        return email
"""),
        # the decorator is re-exported by another linted module
        Invalid("""
from app.util import memoize

@memoize
def fetch(url):
    return url
""", files={"app/__init__.py": "", "app/util.py": "from functools import cache as memoize\n"},
            path="app/client.py", line=3),
    ]


    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        for found in state.cache_decorators(self.ctx, node):
            if not found.unbounded:
                continue
            cls = self.ctx.enclosing_class(node)
            is_static = state.decorated_with(self.ctx, node, frozenset({"builtins.staticmethod"}))
            is_class = state.decorated_with(self.ctx, node, frozenset({"builtins.classmethod"}))
            if cls is not None and not is_static and not is_class:
                return  # instance method: LL203
            skip_first = cls is not None and is_class
            if not state.takes_arguments(node, skip_first) or state.small_domain_parameters(
                    self.ctx, node, self.ctx.parent(node), skip_first):
                return
            label = "cache" if found.kind == "cache" else (
                "lru_cache(maxsize=None)" if found.maxsize_arg is None or found.maxsize_arg.keyword is not None
                else "lru_cache(None)")
            self.report(found.decorator.decorator, decorator=label, func=node.name.value, fix=self._fix(node, found))

    def _fix(self, fn: cst.FunctionDef, found: state.CacheDecorator) -> Optional[Fix]:
        bounded = cst.Arg(keyword=cst.Name("maxsize"), value=cst.Integer("128"),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                whitespace_after=cst.SimpleWhitespace("")))
        title = self.fix_title or ""
        if found.maxsize_arg is not None:
            arg = found.maxsize_arg
            return Fix(title, Applicability.UNSAFE, {arg: bounded.with_changes(comma=arg.comma)})
        expr = found.decorator.decorator
        if isinstance(expr, cst.Call):
            if expr.args:
                return None
            expr = expr.func
        if isinstance(expr, cst.Attribute):  # functools.cache / ft.cache -> same module's lru_cache
            func = expr.with_changes(attr=cst.Name("lru_cache"))
            return Fix(title, Applicability.UNSAFE,
                       {found.decorator: found.decorator.with_changes(decorator=cst.Call(func=func, args=[bounded]))})
        current = self.ctx.qualify(cst.Name("lru_cache"), self.ctx.parent(fn))
        imports: Tuple[ImportSpec, ...] = ()
        if not current:
            if "lru_cache" in self.ctx.summary.definitions:
                return None
            imports = (ImportSpec("functools", "lru_cache"),)
        elif not matches(current, state.LRU_CACHE):
            return None
        call = cst.Call(func=cst.Name("lru_cache"), args=[bounded])
        return Fix(title, Applicability.UNSAFE, {found.decorator: found.decorator.with_changes(decorator=call)},
                   imports=imports)


class CachedInstanceMethod(_CacheRule):
    """## What it does
    Finds `functools.lru_cache` / `functools.cache` (any alias, any `maxsize`) on an instance
    method. Methods of `Enum` classes, `staticmethod`s and `classmethod`s are not reported, nor are
    methods of a class instantiated at module level in a linted module (a process-lifetime
    singleton: the cache holds nothing that would otherwise be freed).

    ## Why is this bad?
    The cache lives on the function, i.e. on the class, for the life of the process, and its keys
    include `self`: every instance the method was called on stays alive (with everything it
    references) until it is evicted, for an unbounded cache never. Objects created per request are
    never freed.

    ## Example
    ```python
    class Repository:
        @lru_cache
        def find(self, key):
            ...
    ```

    Use instead: `functools.cached_property` for a per-instance value, a cache stored on the instance
    (`self._cache = {}` with a bound), or a module-level cached function that takes the data the
    method needs rather than `self`.

    ## Known problems
    ruff and flake8-bugbear report the same pattern as B019.
    """

    code = "LL203"
    name = "cached-instance-method"
    message = "`{decorator}` on method `{func}` keeps every `self` it was called with alive: use `cached_property` or a module-level cache"
    overlaps = "flake8-bugbear / ruff B019 (cached-instance-method)"

    valid = [
        """
from functools import lru_cache, cached_property

class Service:
    @staticmethod
    @lru_cache(maxsize=32)
    def parse(text):
        return text

    @classmethod
    @lru_cache
    def default(cls):
        return cls()

    @cached_property
    def config(self):
        return {}
""",
        # enum members live for the whole process anyway
        """
import enum
from functools import cache

class Color(enum.Enum):
    RED = 1

    @cache
    def label(self):
        return self.name.lower()
""",
        # a module-level singleton lives as long as the cache anyway
        Valid("""
from functools import lru_cache

class Registry:
    @lru_cache(maxsize=100)
    def store_for(self, uri):
        return uri
""", files={"app/__init__.py": "", "app/stores.py": "from app.registry import Registry\nregistry = Registry()\n"},
            path="app/registry.py"),
        # a function nested in a method is not a method
        """
from functools import lru_cache

class Builder:
    def build(self, items):
        @lru_cache(maxsize=None)
        def key(item):
            return item
        return [key(i) for i in items]
""",
    ]
    invalid = [
        Invalid("""
from functools import lru_cache

class Repository:
    @lru_cache(maxsize=1024)
    def find(self, key):
        return key
""", line=4, column=6, message="on method `find`"),
        Invalid("""
import functools

class Client:
    @property
    @functools.cache
    def token(self):
        return "x"
""", line=5),
        Invalid("""
from app.util import memo

class Svc:
    @memo
    async def get(self, key):
        return key
""", files={"app/__init__.py": "", "app/util.py": "from functools import lru_cache\nmemo = lru_cache(maxsize=None)\n"},
            path="app/svc.py", line=4),
    ]


    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        cls = self.ctx.enclosing_class(node)
        if cls is None or state.decorated_with(self.ctx, node, state.STATIC_OR_CLASS):
            return
        if not (node.params.params or node.params.posonly_params) or state.is_enum_class(self.ctx, cls):
            return
        if self._singleton(cls):
            return
        for decorator in node.decorators:
            label = self._cache_label(node, decorator)
            if label is not None:
                self.report(decorator.decorator, decorator=label, func=node.name.value)
                return

    def _singleton(self, cls: cst.ClassDef) -> bool:
        """Instantiated at module level in a linted module: the instance lives as long as the cache."""
        if self.ctx.enclosing(cst.FunctionDef, cls) is not None:
            return False
        qualified = self.ctx.project.canonical(f"{self.ctx.summary.module}.{cls.name.value}")
        return qualified in state.instantiated_at_module_level(self.ctx.project)

    def _cache_label(self, fn: cst.FunctionDef, decorator: cst.Decorator) -> Optional[str]:
        found = state.cache_decorator(self.ctx, decorator, self.ctx.parent(fn))
        if found is not None:
            return found.kind
        # ``memo = lru_cache(maxsize=None)`` defined in a linted module, used as ``@memo``
        expr = decorator.decorator
        if isinstance(expr, (cst.Name, cst.Attribute)):
            for q in self.ctx.qualify(expr, self.ctx.parent(fn)):
                definition = self.ctx.project.definition(q) or (
                    self.ctx.summary.definitions.get(q.rpartition(".")[2])
                    if q.rpartition(".")[0] == self.ctx.summary.module else None)
                if definition is not None and definition.kind == "call" and matches(
                        self.ctx.project.canonical_all(definition.callee), state.LRU_CACHE | state.CACHE):
                    return "lru_cache"
        return None


def _imported_modules(summary, project):
    for q in summary.imported:
        module = project.modules.get(q.rpartition(".")[0]) or project.modules.get(q)
        if module is not None:
            yield module


# -- LL204 -------------------------------------------------------------------------------------

LISTENER_NAMES = re.compile(r"listen|subscri|callback|handler|observer|hook|watcher|waiter", re.IGNORECASE)


@dataclass
class _InstanceCache:
    cls: cst.ClassDef
    attr: str
    kind: str
    #: first growth outside ``__init__``: (node, method)
    growth: Optional[Tuple[cst.CSTNode, cst.FunctionDef]] = None
    managed: bool = False  # evicted, reassigned, size-checked or handed elsewhere


class GrowingInstanceCache(Rule):
    """## What it does
    Finds an instance container (`self.x = {}` / `[]` / `set()` / `defaultdict(...)` in
    `__init__`) that methods only ever add to, on a class whose instance lives for the whole
    process: instantiated at module level (in a module that imports FastAPI/Starlette, or of a
    class defined in one), stored on `app.state`, or
    returned by a cached factory (`@lru_cache def get_service(): return Service()`, the FastAPI
    singleton-dependency idiom). Listener and subscriber lists that are appended to but never
    unsubscribed are the common case.

    ## Why is this bad?
    The object is never freed, so neither is anything it collects: one cache entry or one
    callback per request, per connection or per user, for the life of the worker. Registered
    callbacks also keep their closures (requests, websockets, sessions) alive.

    ## Example
    ```python
    class EventBus:
        def __init__(self):
            self.listeners = []

        def subscribe(self, callback):
            self.listeners.append(callback)

    bus = EventBus()
    ```

    Use instead: add the way out (`unsubscribe()` calling `self.listeners.remove(callback)`),
    hold callbacks in a `weakref.WeakSet`, or bound the cache (`cachetools.LRUCache`).

    ## Known problems
    Methods that look like import-time registration (decorators, names containing `regist`, methods
    called at module level of the defining module) are not counted as growth. `app.state` and
    cached factories are only recognised in the module that defines the class. A container
    passed to another function, returned or aliased is assumed to be managed elsewhere.

    The rule cannot tell a key space bounded by configuration (`self._clients[provider_name]`, one
    entry per configured provider) from one driven by traffic (`self._locks[session.id]`): on the
    pinned corpus one of its three findings was a real leak. It is therefore a **preview** rule:
    enable it with `--preview` or by selecting `LL204`.
    """

    code = "LL204"
    name = "growing-instance-cache"
    preview = True
    message = "`self.{attr}` of `{cls}` only grows (in `{method}`) and `{cls}` lives for the whole process ({why}): {advice}"
    family = "caches"

    valid = [
        # the connection manager idiom: connect and disconnect
        """
from fastapi import WebSocket

class ConnectionManager:
    def __init__(self):
        self.active: list[WebSocket] = []

    async def connect(self, ws: WebSocket):
        self.active.append(ws)

    def disconnect(self, ws: WebSocket):
        self.active.remove(ws)

manager = ConnectionManager()
""",
        # per-request object: dies with the request
        """
class Collector:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

def handle(rows):
    c = Collector()
    for r in rows:
        c.add(r)
    return c.items
""",
        # decorator registration at import time
        """
class Router:
    def __init__(self):
        self.routes = {}

    def route(self, path):
        def decorator(fn):
            self.routes[path] = fn
            return fn
        return decorator

router = Router()

@router.route("/")
def index():
    pass
""",
        # per-request object stored on request.state (not app.state)
        """
class FilterContext:
    def __init__(self):
        self.valves = {}

    def get(self, key):
        if key not in self.valves:
            self.valves[key] = object()
        return self.valves[key]

def get_filter_context(request):
    request.state.filter_context = FilterContext()
    return request.state.filter_context
""",
        # a library singleton filled by configuration code (no web framework in sight)
        """
class Environ:
    def __init__(self):
        self._read = set()

    def __getitem__(self, key):
        self._read.add(key)
        return key

environ = Environ()
""",
        # growth inside one-time lazy initialisation
        """
class Router:
    def __init__(self):
        self.routes = []
        self._frontend = None

    def frontend(self, path):
        if self._frontend is None:
            self._frontend = object()
            self.routes.append(self._frontend)

router = Router()
""",
        # bounded by a size check; weak set
        """
import weakref

class Cache:
    def __init__(self):
        self.data = {}
        self.watchers = weakref.WeakSet()

    def put(self, key, value):
        if len(self.data) > 100:
            self.data.clear()
        self.data[key] = value

    def watch(self, w):
        self.watchers.add(w)

cache = Cache()
""",
    ]
    invalid = [
        Invalid("""
from fastapi import FastAPI

class EventBus:
    def __init__(self):
        self.listeners = []

    def subscribe(self, callback):
        self.listeners.append(callback)

app = FastAPI()
bus = EventBus()
""", line=8, column=9, message="`self.listeners` of `EventBus` only grows (in `subscribe`)"),
        # FastAPI singleton dependency
        Invalid("""
from functools import lru_cache as memo

class UserCache:
    def __init__(self):
        self._users = {}

    def get(self, user_id):
        if user_id not in self._users:
            self._users[user_id] = {"id": user_id}
        return self._users[user_id]

@memo
def get_user_cache():
    return UserCache()
""", line=9, message="cached factory"),
        # stored on app.state in the lifespan
        Invalid("""
from contextlib import asynccontextmanager
from fastapi import FastAPI

class Metrics:
    def __init__(self):
        self.samples = []

    def record(self, value):
        self.samples += [value]

@asynccontextmanager
async def lifespan(app):
    app.state.metrics = Metrics()
    yield

app = FastAPI(lifespan=lifespan)
""", line=9, message="stored on `app.state`"),
        # instantiated at module level in another linted module
        Invalid("""
class Tracker:
    def __init__(self):
        self.seen = set()

    def hit(self, key):
        self.seen.add(key)
""", files={"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\nfrom app.tracker import Tracker\n\napp = FastAPI()\ntracker = Tracker()\n"},
            path="app/tracker.py", line=6, message="module-level instance"),
    ]

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return state.may_hold_process_lifetime_instance(summary, project)

    def visit_Module(self, node: cst.Module) -> None:
        self.candidates: List[_InstanceCache] = []
        self.lifetime: Dict[str, str] = {}  # class qualified name -> why
        self.import_time: Set[str] = set()

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self.import_time |= _qualified_head(self.ctx, node.decorator)

    def visit_Call(self, node: cst.Call) -> None:
        if not any(isinstance(n, cst.FunctionDef) for n in self.ctx.stack):
            self.import_time |= self.ctx.qualify(node.func)

    def visit_Assign(self, node: cst.Assign) -> None:
        if not isinstance(node.value, cst.Call):
            return
        for target in node.targets:
            parts = _dotted(target.target)
            if parts is not None and len(parts) >= 3 and parts[-2] == "state" and parts[-3] == "app":
                for q in self.ctx.qualify(node.value.func):
                    self.lifetime.setdefault(q, "stored on `app.state`")

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.decorators and any(True for _ in state.cache_decorators(self.ctx, node)):
            for stmt in flow.walk(node.body):
                if isinstance(stmt, cst.Return) and isinstance(stmt.value, cst.Call):
                    for q in self.ctx.qualify(stmt.value.func, node):
                        self.lifetime.setdefault(q, "cached factory")

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.ctx.enclosing(cst.FunctionDef, node) is not None or not isinstance(node.body, cst.IndentedBlock):
            return
        methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        init = next((m for m in methods if m.name.value == "__init__"), None)
        if init is None:
            return
        found: Dict[str, _InstanceCache] = {}
        me = _self_name(init)
        for stmt in flow.walk(init.body):
            if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0].target, stmt.value
            elif isinstance(stmt, cst.AnnAssign):
                target, value = stmt.target, stmt.value
            else:
                continue
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == me:
                kind = state.is_container_value(self.ctx, value)
                if kind is not None:
                    found[target.attr.value] = _InstanceCache(node, target.attr.value, kind)
        if not found:
            return
        for method in methods:
            me = _self_name(method)
            if me is None or state.decorated_with(self.ctx, method, state.STATIC_OR_CLASS):
                continue
            parents = flow.parent_map(method)
            for n in flow.walk(method.body):
                if not (isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == me
                        and n.attr.value in found):
                    continue
                entry = found[n.attr.value]
                use = state.classify_use(self.ctx, n, parents.get)
                if method is init:
                    continue  # filling or resetting it while constructing is bounded
                if use.kind in ("evict", "escape"):
                    entry.managed = True
                elif use.kind == "grow" and entry.growth is None and not state.constant_key(use.node) \
                        and not state.lazily_initialised(n, me, parents):
                    entry.growth = (use.node, method)
        self.candidates.extend(found.values())

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.candidates:
            return
        web_module = web.uses_web_framework(self.ctx.summary)
        module_level = state.instantiated_at_module_level(self.ctx.project) if web_module else \
            state.instantiated_in_web_modules(self.ctx.project)
        prefix = self.ctx.summary.module + "."
        instances = {name for name, d in self.ctx.summary.definitions.items() if d.kind == "call"}
        for entry in self.candidates:
            if entry.managed or entry.growth is None:
                continue
            node, method = entry.growth
            cls_name = entry.cls.name.value
            qualified = self.ctx.project.canonical(prefix + cls_name)
            why = "module-level instance" if qualified in module_level else self.lifetime.get(qualified)
            if why is None:
                continue
            if state.is_registration_function(method) or any(
                    f"{prefix}{i}.{method.name.value}" in self.import_time for i in instances):
                continue
            listener = bool(LISTENER_NAMES.search(entry.attr) or LISTENER_NAMES.search(method.name.value))
            advice = ("add an unsubscribe path or hold them in a `weakref.WeakSet`" if listener
                      else "evict entries or use a bounded cache (`cachetools.LRUCache` / `TTLCache`)")
            self.report(node, attr=entry.attr, cls=cls_name, method=method.name.value, why=why, advice=advice)


def _self_name(fn: cst.FunctionDef) -> Optional[str]:
    params = list(fn.params.posonly_params) + list(fn.params.params)
    return params[0].name.value if params else None


def _dotted(node: cst.BaseExpression) -> Optional[List[str]]:
    from leaklint.semantics.context import dotted_parts

    return dotted_parts(node)
