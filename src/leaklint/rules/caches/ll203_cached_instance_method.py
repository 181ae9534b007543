"""LL203 cached-instance-method: `lru_cache` / `cache` on an instance method (the cache keeps every `self` alive)."""

from __future__ import annotations

from typing import Optional, Tuple

import libcst as cst

from leaklint.rule import Invalid, Valid
from leaklint.rules.caches._common import _CacheRule
from leaklint.semantics import state
from leaklint.semantics.instances import has_runtime_instances
from leaklint.semantics.names import matches


class CachedInstanceMethod(_CacheRule):
    """## What it does
    Finds `functools.cache` / `functools.lru_cache(maxsize=None)` (any alias) on an instance
    method of a class the project constructs over and over: by name in a function body (not an
    `@lru_cache` factory), or as a `Depends(Cls)` dependency - the class or any subclass of it.
    A bounded `lru_cache` (bare: 128 entries) is reported only on a class constructed per request
    (in a route, a dependency or what they call): it pins the last requests' objects.
    Methods of `Enum` classes, `staticmethod`s and `classmethod`s are not reported, nor are methods
    of a class only instantiated at module level, in a cached factory, in the `__init__` of such a
    class, or by a framework (a process-lifetime singleton, a model or actor class: the cache holds
    nothing that would otherwise be freed).

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
    ruff and flake8-bugbear report the same pattern as B019, on every class. A class whose
    instances are only made outside the linted files (a library's public class) is not reported
    here: lint the code that uses it along with it.
    """

    code = "LL203"
    name = "cached-instance-method"
    message = "`{decorator}` on method `{func}` keeps {held} alive: use `cached_property` or a module-level cache"
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
        # only made once, in a cached factory, or by a framework (never constructed by name here)
        """
from functools import lru_cache

class Settings:
    @lru_cache
    def database_url(self):
        return "sqlite://"

@lru_cache
def get_settings():
    return Settings()
""",
        """
from functools import lru_cache

class Worker:
    @lru_cache
    def context_length(self):
        return 4096

def start(framework):
    return framework.create_actor(Worker, uid="worker")
""",
        # bounded, on objects made per call but not per request: at most `maxsize` of them stay
        """
from functools import lru_cache

class Window:
    @lru_cache(maxsize=1)
    def bounds(self, start):
        return start, start + 1

    @lru_cache()
    def width(self):
        return 1

def build(start):
    return Window().bounds(start)
""",
        # made by a cached dependency (once, whichever branch is configured), not per request
        """
from functools import lru_cache
from fastapi import Depends, FastAPI

app = FastAPI()

class TokenAuth:
    @lru_cache
    def signing_key(self, issuer):
        return issuer

@lru_cache(maxsize=1)
def get_auth(mode: str = "token"):
    if mode == "token":
        return TokenAuth()
    return None

@app.get("/me")
def me(auth: TokenAuth = Depends(get_auth)):
    return auth.signing_key("issuer")
""",
        # made only by the __init__ of a module-level singleton: one instance, as long-lived as the cache
        """
from functools import lru_cache

class Prefixes:
    @lru_cache(maxsize=None)
    def lookup(self, prefix):
        return prefix.upper()

class System:
    def __init__(self):
        self.prefixes = Prefixes()

system = System()
""",
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
    @lru_cache(maxsize=None)
    def find(self, key):
        return key

def get_repository():
    return Repository()
""", line=4, column=6, message="on method `find` keeps every `self` it was called with alive"),
        Invalid("""
import functools

class Client:
    @property
    @functools.cache
    def token(self):
        return "x"

def handle(request):
    return Client().token
""", line=5),
        Invalid("""
from app.util import memo

class Svc:
    @memo
    async def get(self, key):
        return key
""", files={"app/__init__.py": "", "app/util.py": "from functools import lru_cache\nmemo = lru_cache(maxsize=None)\n",
                   "app/routes.py": "from app.svc import Svc\n\ndef build():\n    return Svc()\n"},
            path="app/svc.py", line=4),
        # FastAPI makes one per request; a subclass constructed elsewhere counts for its base
        Invalid("""
from functools import lru_cache
from fastapi import Depends, FastAPI

app = FastAPI()

class Pager:
    @lru_cache
    def window(self, size):
        return size

@app.get("/items")
def items(pager: Pager = Depends(Pager)):
    return pager.window(10)
""", line=7, message="keeps the last 128 `self`s it was called with alive"),
        Invalid("""
from functools import cache

class Model:
    @cache
    def tokens(self, text):
        return text.split()
""", files={"app/__init__.py": "", "app/chat.py": "from app.model import Model\n\nclass Chat(Model):\n    pass\n\ndef reply(text):\n    return Chat().tokens(text)\n"},
            path="app/model.py", line=4),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        cls = self.ctx.enclosing_class(node)
        if cls is None or state.decorated_with(self.ctx, node, state.STATIC_OR_CLASS):
            return
        if not (node.params.params or node.params.posonly_params) or state.is_enum_class(self.ctx, cls):
            return
        for decorator in node.decorators:
            found = self._cache(node, decorator)
            if found is None:
                continue
            label, limit = found
            # unbounded: any instance made over and over stays; bounded: the last `limit` stay, which
            # matters only for objects made per request (each pins a request's data)
            if self._many_instances(cls, per_request=limit is not None):
                held = "every `self` it was called with" if limit is None else \
                    f"the last {limit} `self`s it was called with"
                self.report(decorator.decorator, decorator=label, func=node.name.value, held=held)
            return

    def _many_instances(self, cls: cst.ClassDef, per_request: bool) -> bool:
        """Evidence of many instances; without it the cache holds what would stay alive anyway."""
        if self.ctx.enclosing(cst.FunctionDef, cls) is not None:
            return True  # a class defined in a function is made again on every call
        return has_runtime_instances(self.ctx.project, f"{self.ctx.summary.module}.{cls.name.value}", per_request)

    def _cache(self, fn: cst.FunctionDef, decorator: cst.Decorator) -> Optional[Tuple[str, Optional[str]]]:
        """``(label, limit)`` of a cache decorator: limit None when unbounded, else its ``maxsize``."""
        found = state.cache_decorator(self.ctx, decorator, self.ctx.parent(fn))
        if found is not None:
            return found.kind, None if found.unbounded else _maxsize(decorator.decorator)
        # ``memo = lru_cache(maxsize=None)`` defined in a linted module, used as ``@memo``
        expr = decorator.decorator
        if isinstance(expr, (cst.Name, cst.Attribute)):
            for q in self.ctx.qualify(expr, self.ctx.parent(fn)):
                definition = self.ctx.project.definition(q) or (
                    self.ctx.summary.definitions.get(q.rpartition(".")[2])
                    if q.rpartition(".")[0] == self.ctx.summary.module else None)
                if definition is not None and definition.kind == "call" and matches(
                        self.ctx.project.canonical_all(definition.callee), state.LRU_CACHE | state.CACHE):
                    unbounded = definition.keywords.get("maxsize") == ("None",) or matches(
                        self.ctx.project.canonical_all(definition.callee), state.CACHE)
                    return "lru_cache", None if unbounded else "`maxsize`"
        return None


def _maxsize(expr: cst.BaseExpression) -> str:
    """``128`` for a bare ``@lru_cache`` / ``@lru_cache()``, the literal given, else ``maxsize``."""
    if not isinstance(expr, cst.Call):
        return "128"
    for i, arg in enumerate(expr.args):
        if (arg.keyword is not None and arg.keyword.value == "maxsize") or (arg.keyword is None and i == 0):
            return arg.value.value if isinstance(arg.value, cst.Integer) else "`maxsize`"
    return "128"
