"""Map phase: a cheap, picklable summary of one module, built with the stdlib ``ast``.

``ast`` parses about 10x faster than libcst. The summary holds what other modules need to know
about this one (what its module-level names are bound to, which functions are dependencies or
endpoints) and what the engine needs to decide whether any enabled rule can fire here at all,
so that files no rule can match are never parsed by libcst.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from leaklint.semantics.downgrade import downgrade
from leaklint.semantics.ownership_map import (DEPENDS_CALLEES, Ownership, annotation_parts, child_nodes,
                                              globals_set_by_functions, scan_function)
from leaklint.semantics.names import BUILTIN_NAMES, Names, import_bindings, qualify_parts

#: methods that add an entry to a container (``X.append(v)``, ``X.setdefault(k, [])``)
GROW_METHODS = frozenset({"append", "extend", "add", "update", "setdefault", "insert", "appendleft",
                          "extendleft", "__setitem__"})

#: ``app.add_api_route(path, endpoint)``, ``router.add_route(...)``, Starlette ``Route(path, endpoint)``
ENDPOINT_REGISTRARS = frozenset({"add_api_route", "add_route", "add_api_websocket_route", "add_websocket_route"})
APP_CLASSES = frozenset({"fastapi.FastAPI", "fastapi.applications.FastAPI", "starlette.applications.Starlette"})
ROUTER_CLASSES = frozenset({"fastapi.APIRouter", "fastapi.routing.APIRouter", "starlette.routing.Router"})
#: decorators of an app or router that declare a route (here too for apps bound inside an app factory)
ROUTE_VERBS = frozenset({"get", "post", "put", "delete", "patch", "options", "head", "trace", "api_route",
                         "websocket", "route", "websocket_route"})
ROUTE_CLASSES = frozenset(
    {"starlette.routing.Route", "starlette.routing.WebSocketRoute", "fastapi.routing.APIRoute",
     "fastapi.routing.APIWebSocketRoute"}
)


@dataclass
class Definition:
    """What a module-level name is bound to (only the shapes rules ask about)."""

    kind: str  # "call" | "function" | "class" | "literal" | "other"
    callee: Tuple[str, ...] = ()  # qualified-name candidates of the called constructor/factory
    keywords: Dict[str, Tuple[str, ...]] = field(default_factory=dict)  # kwarg -> qualified candidates
    literal: str = ""  # "dict" | "list" | "set" | "tuple" | "str" | ... for literals
    is_async: bool = False
    is_generator: bool = False
    bases: Tuple[str, ...] = ()
    lineno: int = 0
    #: an ``async def`` with a ``while True:`` loop that no ``break``/``return`` of its own leaves:
    #: a background loop that runs until cancelled (LL403 asks this across modules)
    runs_forever: bool = False
    #: bound only under ``if __name__ == "__main__":``: exists only when the file is the program
    main_only: bool = False
    #: ``APIRouter(prefix="/v1/images")``: the literal path prefix of the routes it declares
    route_prefix: str = ""
    #: names a class body binds (``summary._class_attributes``): ``"="`` plain, ``":"`` annotated,
    #: ``"?"`` not a value fixed at import
    class_attributes: Dict[str, str] = field(default_factory=dict)


@dataclass
class FunctionFacts:
    """Per function (keyed by dotted path ``Class.method`` / ``outer.inner``)."""

    shadowed: Set[str] = field(default_factory=set)
    imports: Dict[str, str] = field(default_factory=dict)
    decorators: List[Tuple[Tuple[str, ...], Optional[str]]] = field(default_factory=list)
    is_async: bool = False
    is_generator: bool = False
    lineno: int = 0
    end_lineno: int = 0
    in_class: Optional[str] = None
    #: module-level functions this one calls by name (``helper()``), for the per-request call graph
    calls: Set[str] = field(default_factory=set)
    #: qualified names this function calls in its own body (for cheap per-function pre-checks)
    called: Set[str] = field(default_factory=set)
    params: Tuple[str, ...] = ()
    #: what the function does with resources and which functions it reaches (``ownership_map``)
    ownership: Optional[Ownership] = None
    #: ``(verb, path)`` when decorated by an app or router bound in an enclosing function
    local_route: Optional[Tuple[str, str]] = None
    #: ``name = Callee(...)`` in this function's own body: ``name`` -> callee candidates (of every such binding)
    local_calls: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    #: names the function declares ``global``
    declares_global: Set[str] = field(default_factory=set)
    #: callees of ``called`` that this function calls only as a ``with`` item: closed by the block
    called_only_in_with: Set[str] = field(default_factory=set)
    #: reads the ``content-length`` header (a body-size limit, with ``mentions_413``)
    reads_content_length: bool = False
    #: the request paths a body-size limit here is scoped to (``if path != "/upload": pass on``); empty: all
    limited_paths: Tuple[str, ...] = ()


@dataclass
class ModuleSummary:
    path: str
    module: str
    package: str
    imports: Dict[str, List[str]] = field(default_factory=dict)
    definitions: Dict[str, Definition] = field(default_factory=dict)
    functions: Dict[str, FunctionFacts] = field(default_factory=dict)
    depends: List[Tuple[str, ...]] = field(default_factory=list)
    dependency_factories: List[Tuple[str, ...]] = field(default_factory=list)
    endpoints: List[Tuple[str, ...]] = field(default_factory=list)
    #: ``router.post("/docs")(upload_docs)``: (receiver candidates, verb, path, endpoint candidates);
    #: the reduce phase keeps those whose receiver is an app or a router
    route_registrations: List[Tuple[Tuple[str, ...], str, str, Tuple[str, ...]]] = field(default_factory=list)
    #: every qualified name this module calls (``sqlalchemy.orm.Session``, ``app.db.SessionLocal``,
    #: ``asyncio.create_task``...), resolved in the caller's scope: rules' cheap first look
    called: Set[str] = field(default_factory=set)
    #: ``app.state.<attr> = Callee(...)``: attr -> the callee's qualified names
    app_state_attrs: Dict[str, Set[str]] = field(default_factory=dict)
    #: attribute names called as methods anywhere (``x.connect()`` -> ``connect``), unresolved
    called_methods: Set[str] = field(default_factory=set)
    #: the module names HTTP 413 (``413``, ``HTTP_413_...``, ``...TOO_LARGE``): a body-size limit
    mentions_413: bool = False
    #: names that a function grows in place (``X.append(v)``, ``X[k] = v``, ``X[k].add(v)``, ``X += [v]``):
    #: LL201's cheap look (a module container only a function can grow is ever reported)
    grown_in_functions: Set[str] = field(default_factory=set)
    #: qualified names called by module-level code (class bodies, decorators, comprehensions): at import
    called_at_import: Set[str] = field(default_factory=set)
    #: attribute names functions assign on some object (``job.kind = k``, ``setattr(x, "kind", k)``;
    #: ``"*mod.Class"`` for ``setattr(self, name, v)`` in a method): class attributes instances may override
    stored_attributes: Set[str] = field(default_factory=set)
    syntax_error: Optional[Tuple[str, int, int]] = None

    def calls_any(self, project, names) -> bool:
        """Does the module call any of ``names`` (after following re-exports to the definition)?"""
        names = frozenset(names)
        return any(q in names or project.canonical(q) in names for q in self.called)

    @property
    def imported(self) -> Set[str]:
        return {q for qs in self.imports.values() for q in qs}

    @property
    def is_test_module(self) -> bool:
        """A test module or fixture file (``tests/``, ``test_*.py``, ``*_test.py``, ``conftest.py``):
        the test process ends with the run, so what leaks there leaks nothing that outlives it."""
        return is_test_module_name(self.module)

    @property
    def is_script_module(self) -> bool:
        """A hand-run script (``scripts/seed_demo.py``, ``backend/scripts/...``): its process ends with
        the run, like a test's; deployment files there (``scripts/entrypoint.sh``) are not Python."""
        return any(p in ("scripts", "script") for p in self.module.split(".")[:-1])

    def imports_from(self, *prefixes: str) -> bool:
        return any(q == p or q.startswith(p + ".") for q in self.imported for p in prefixes)


def module_name_for(path: str, roots: Sequence[str] = ()) -> Tuple[str, str]:
    """Dotted module name and package for a file.

    In a regular package (folders with ``__init__.py``) the name comes from walking up through
    them. A file in a folder without ``__init__.py`` (a PEP 420 namespace package, such as
    ``app/socket/main.py`` under a regular ``app``) is named from the nearest regular package
    above it, or else relative to the linted root that contains it, so ``from app.socket.main
    import x`` in another module still resolves to it.
    """
    import os

    path = os.path.abspath(path)
    directory, filename = os.path.split(path)
    stem = filename.rsplit(".", 1)[0]
    is_init = stem == "__init__"

    def package_parts(folder: str) -> List[str]:
        parts: List[str] = []
        while os.path.isfile(os.path.join(folder, "__init__.py")):
            folder, name = os.path.split(folder)
            if not name:
                break
            parts.insert(0, name)
        return parts

    parts = package_parts(directory)
    if not parts:
        root = next((os.path.abspath(r) for r in roots
                     if directory.startswith(os.path.abspath(r).rstrip(os.sep) + os.sep)), None)
        if root is not None:
            between: List[str] = []
            folder = directory
            while folder != root and folder.startswith(root + os.sep):
                parent, name = os.path.split(folder)
                between.insert(0, name)
                above = package_parts(parent)
                if above:  # a regular package holds this namespace folder
                    parts = above + between
                    break
                folder = parent
            else:
                parts = between
            if not all(p.isidentifier() for p in parts):
                parts = []
    names = parts + ([] if is_init else [stem])
    module = ".".join(names) or stem
    package = module if is_init else module.rpartition(".")[0]
    return module, package

def _dotted(node: ast.AST) -> Optional[List[str]]:
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.insert(0, node.id)
        return parts
    return None


class _Summariser:
    def __init__(self, summary: ModuleSummary, tree: ast.Module):
        self.s = summary
        self.tree = tree
        self.module_names: Set[str] = set()
        #: ids of the calls that are a ``with`` item (``with httpx.Client() as c:``)
        self._with_items: Set[int] = set()
        self._in_lambda = 0  # depth of module-level lambdas around the node being walked
        #: per function being walked: (callees called as a ``with`` item, callees called otherwise)
        self._with_calls: Dict[int, Tuple[Set[str], Set[str]]] = {}
        #: class path -> attributes its ``__init__`` sets to an app or a router (``self.app = app``)
        self._app_attributes: Dict[str, Set[str]] = {}

    # -- module level -------------------------------------------------------------------
    def run(self) -> None:
        self._collect_module_bindings(self.tree.body)
        self.module_names = set(self.s.imports) | set(self.s.definitions)
        self._lazy_globals: Optional[FrozenSet[str]] = None
        for stmt in self.tree.body:
            self._walk(stmt, [], None)

    def _module_lazy_globals(self) -> FrozenSet[str]:
        if self._lazy_globals is None:
            self._lazy_globals = globals_set_by_functions(self.tree)
        return self._lazy_globals

    def _collect_module_bindings(self, body: List[ast.stmt], main_only: bool = False) -> None:
        for stmt in body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                self._record_import(stmt, self.s.imports)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.s.definitions[stmt.name] = Definition(
                    "function", is_async=isinstance(stmt, ast.AsyncFunctionDef), lineno=stmt.lineno)
            elif isinstance(stmt, ast.ClassDef):
                bases = tuple(q for b in stmt.bases for q in self._qualify_module(b))
                self.s.definitions[stmt.name] = Definition("class", bases=bases, lineno=stmt.lineno,
                                                           class_attributes=_class_attributes(stmt))
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                value = stmt.value
                for target in targets:
                    if isinstance(target, ast.Name):
                        self._define(target.id, value, stmt.lineno, main_only)
            elif isinstance(stmt, ast.If) and _is_main_guard(stmt.test):
                self._collect_module_bindings(stmt.body, True)
                self._collect_module_bindings(stmt.orelse, main_only)
            elif isinstance(stmt, (ast.If, ast.Try)) or type(stmt).__name__ == "TryStar":
                for block in _blocks(stmt):
                    self._collect_module_bindings(block, main_only)

    def _define(self, name: str, value: Optional[ast.expr], lineno: int, main_only: bool = False) -> None:
        previous = self.s.definitions.get(name)
        definition = self._describe(value, lineno)
        if previous is not None and (previous.kind, previous.callee, previous.literal) != (
            definition.kind, definition.callee, definition.literal
        ):
            definition = Definition("other", lineno=lineno)  # rebound to something else: unknown
        definition.main_only = main_only and (previous is None or previous.main_only)
        self.s.definitions[name] = definition

    def _describe(self, value: Optional[ast.expr], lineno: int) -> Definition:
        if isinstance(value, ast.Call):
            callee = tuple(sorted(self._qualify_module(value.func)))
            keywords = {  # ``maxsize=None`` is kept as ``("None",)``: an unbounded cache factory
                kw.arg: ("None",) if isinstance(kw.value, ast.Constant) and kw.value.value is None
                else tuple(sorted(self._qualify_module(kw.value)))
                for kw in value.keywords if kw.arg is not None
            }
            prefix = next((kw.value.value for kw in value.keywords if kw.arg == "prefix"
                           and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)), "")
            return Definition("call", callee=callee, keywords=keywords, lineno=lineno, route_prefix=prefix)
        literal = {ast.Dict: "dict", ast.List: "list", ast.Set: "set", ast.Tuple: "tuple",
                   ast.DictComp: "dict", ast.ListComp: "list", ast.SetComp: "set"}.get(type(value))
        if literal:
            return Definition("literal", literal=literal, lineno=lineno)
        if isinstance(value, ast.Constant):
            return Definition("literal", literal=type(value.value).__name__, lineno=lineno)
        if isinstance(value, (ast.Name, ast.Attribute)):
            target = tuple(sorted(self._qualify_module(value)))
            return Definition("alias", callee=target, lineno=lineno)
        return Definition("other", lineno=lineno)

    def _record_import(self, stmt: ast.stmt, table: Dict) -> None:
        if isinstance(stmt, ast.Import):
            pairs = import_bindings(None, [(a.name, a.asname) for a in stmt.names], 0, self.s.package, False)
        else:
            assert isinstance(stmt, ast.ImportFrom)
            pairs = import_bindings(stmt.module, [(a.name, a.asname) for a in stmt.names], stmt.level,
                                    self.s.package, True)
        for local, qualified in pairs:
            if isinstance(table.get(local), list):
                if qualified not in table[local]:
                    table[local].append(qualified)
            elif table is self.s.imports:
                table[local] = [qualified]
            else:
                table[local] = qualified

    def _qualify_module(self, node: ast.AST) -> Names:
        parts = _dotted(node)
        if parts is None:
            return frozenset()
        return qualify_parts(parts, [], self.s.imports, self.s.definitions, self.s.module)

    def _qualify(self, node: ast.AST, chain: List[FunctionFacts]) -> Names:
        parts = _dotted(node)
        if parts is None:
            return frozenset()
        scopes = [{"shadowed": f.shadowed, "imports": f.imports} for f in chain]
        return qualify_parts(parts, scopes, self.s.imports, self.s.definitions, self.s.module)

    # -- everything else ----------------------------------------------------------------
    def _walk(self, node: ast.AST, chain: List[FunctionFacts], class_path: Optional[str],
              path: str = "") -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self._function(node, chain, class_path, path)
            return
        if isinstance(node, ast.ClassDef):
            for deco in node.decorator_list:
                self._walk(deco, chain, class_path, path)
            for base in node.bases:
                self._walk(base, chain, class_path, path)
            cpath = f"{path}.{node.name}" if path else node.name
            self._app_attributes[cpath] = self._app_attributes_of(node, chain)
            for stmt in node.body:
                self._walk(stmt, chain, cpath, cpath)
            return
        if isinstance(node, ast.Call):
            self._call(node, chain)
        elif isinstance(node, ast.Constant):
            if node.value == 413:
                self.s.mentions_413 = True
            elif chain and isinstance(node.value, (str, bytes)) and len(node.value) == 14 and \
                    node.value.lower() in ("content-length", b"content-length"):
                chain[-1].reads_content_length = True
        elif isinstance(node, (ast.Name, ast.Attribute)):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if "413" in name or name.endswith("TOO_LARGE"):
                self.s.mentions_413 = True
            if chain and isinstance(node, ast.Attribute) and name in GROW_METHODS:
                self._grown(node.value)
            if chain and isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                self.s.stored_attributes.add(name)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            self._with_items.update(id(item.context_expr) for item in node.items)
        elif chain and isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            self._grown(node)
            owner = _instance_dict(node.value)
            if owner is not None:  # ``vars(job)[k] = v`` / ``self.__dict__["name"] = v``
                key = node.slice
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self.s.stored_attributes.add(key.value)
                elif getattr(owner, "id", None) == "self" and chain[-1].in_class:
                    self.s.stored_attributes.add(f"*{self.s.module}.{chain[-1].in_class}")
                else:
                    self.s.stored_attributes.add("**")  # any attribute of any object
        elif chain and isinstance(node, ast.AugAssign):
            self._grown(node.target)
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            if chain and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                # every callee the name was bound to: ``app = FastAPI()`` then ``app = mount_ui(app)``
                earlier = chain[-1].local_calls.get(node.targets[0].id, ())
                chain[-1].local_calls[node.targets[0].id] = tuple(sorted(
                    set(earlier) | self._qualify(node.value.func, chain)))
            for target in node.targets:
                parts = _dotted(target)
                if parts is not None and len(parts) >= 3 and parts[-3:-1] == ["app", "state"]:
                    callees = self._qualify(node.value.func, chain)
                    self.s.app_state_attrs.setdefault(parts[-1], set()).update(callees)
        if isinstance(node, ast.Lambda) and not chain:  # its calls run when it is called, not at import
            self._in_lambda += 1
            for child in child_nodes(node):
                self._walk(child, chain, class_path, path)
            self._in_lambda -= 1
            return
        for child in child_nodes(node):
            self._walk(child, chain, class_path, path)

    def _app_attributes_of(self, cls: ast.ClassDef, chain: List[FunctionFacts]) -> Set[str]:
        """``self.app = app`` (a parameter annotated as an app or router) or ``self.router =
        APIRouter(...)`` in the class's ``__init__``."""
        init = next((s for s in cls.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
        positional = (init.args.posonlyargs + init.args.args) if init is not None else []
        if not positional:
            return set()
        me = positional[0].arg
        apps = APP_CLASSES | ROUTER_CLASSES
        typed = {a.arg for a in positional[1:] + init.args.kwonlyargs  # type: ignore[union-attr]
                 if any(self._qualify(part, chain) & apps for part in annotation_parts(a.annotation))}
        found: Set[str] = set()
        for stmt in ast.walk(init):  # type: ignore[arg-type]
            if not isinstance(stmt, ast.Assign):
                continue
            value = stmt.value
            if (isinstance(value, ast.Name) and value.id in typed) or (
                    isinstance(value, ast.Call) and self._qualify(value.func, chain) & apps):
                found.update(t.attr for t in stmt.targets if isinstance(t, ast.Attribute)
                             and isinstance(t.value, ast.Name) and t.value.id == me)
        return found

    def _on_own_app(self, receiver: ast.AST, chain: List[FunctionFacts]) -> bool:
        """``self.app`` in a method (or a function nested in one) of a class whose ``__init__`` sets
        ``app`` to an app or a router."""
        method = next((f for f in reversed(chain) if f.in_class is not None), None)
        if method is None or not method.params or not isinstance(receiver, ast.Attribute) or \
                not isinstance(receiver.value, ast.Name) or receiver.value.id != method.params[0]:
            return False
        return receiver.attr in self._app_attributes.get(method.in_class or "", ())

    def _grown(self, target: ast.AST) -> None:
        """Record the name ``X`` that a function grows through ``X`` or ``X[k]``."""
        if isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name):
            self.s.grown_in_functions.add(target.id)

    def _stored_by_call(self, node: ast.Call, callee: FrozenSet[str], fn: FunctionFacts) -> None:
        """Attributes a call may set on an object: ``setattr(x, "kind", v)``, ``self.__setattr__("kind",
        v)``, ``dataclasses.replace(job, kind=v)``, ``cls(kind=v)`` in a classmethod; ``"*mod.Class"``
        for a computed name on ``self`` or positional arguments to ``cls(...)``, ``"**"`` for
        ``x.__dict__.update(...)``."""
        func, stored = node.func, self.s.stored_attributes
        own_class = f"*{self.s.module}.{fn.in_class}" if fn.in_class else None
        unbound = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "object"
        if getattr(func, "id", None) == "setattr" or unbound and func.attr == "__setattr__":  # type: ignore[union-attr]
            receiver, name = (node.args + [None, None])[:2]
        elif isinstance(func, ast.Attribute) and func.attr == "__setattr__":
            receiver, name = func.value, (node.args or [None])[0]
        elif callee & _COPY_WITH_CHANGES or getattr(func, "id", None) == "cls" or _type_of_self(func):
            stored.update(k.arg or "**" for k in node.keywords)
            if own_class and len(node.args) > (1 if callee & _COPY_WITH_CHANGES else 0):
                stored.add(own_class)
            return
        else:
            if isinstance(func, ast.Attribute) and func.attr == "update" and \
                    isinstance(func.value, ast.Attribute) and func.value.attr == "__dict__":
                stored.add("**")
            return
        if isinstance(name, ast.Constant) and isinstance(name.value, str):
            stored.add(name.value)
        elif isinstance(receiver, ast.Name) and receiver.id == "self" and own_class:
            stored.add(own_class)  # ``setattr(self, name, value)``: any attribute of the method's class

    def _function(self, node, chain, class_path, path) -> None:
        fpath = f"{path}.{node.name}" if path else node.name
        facts = FunctionFacts(
            is_async=isinstance(node, ast.AsyncFunctionDef),
            lineno=node.lineno, end_lineno=getattr(node, "end_lineno", node.lineno) or node.lineno,
            in_class=class_path if class_path == path else None,
        )
        # decorators, defaults and annotations are evaluated in the enclosing scope
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            first = None
            if isinstance(deco, ast.Call) and deco.args and isinstance(deco.args[0], ast.Constant):
                first = deco.args[0].value if isinstance(deco.args[0].value, str) else None
            facts.decorators.append((tuple(sorted(self._qualify(target, chain))), first))
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and chain:
                local = next((f.local_calls[target.value.id] for f in reversed(chain)
                              if target.value.id in f.local_calls), ())
                if set(local) & (APP_CLASSES | ROUTER_CLASSES) and target.attr in ROUTE_VERBS:
                    facts.local_route = (target.attr, first or "")
            if isinstance(target, ast.Attribute) and target.attr in ROUTE_VERBS and \
                    self._on_own_app(target.value, chain):
                facts.local_route = (target.attr, first or "")  # ``@self.app.post(...)`` in a method
            self._walk(deco, chain, class_path, path)
        args = node.args
        for default in list(args.defaults) + [d for d in args.kw_defaults if d is not None]:
            self._walk(default, chain, class_path, path)
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]:
            if arg.annotation is not None:
                self._walk(arg.annotation, chain, class_path, path)
        if node.returns is not None:
            self._walk(node.returns, chain, class_path, path)
        facts.params = tuple(a.arg for a in args.posonlyargs + args.args + args.kwonlyargs)
        bound, declared_global, imports, facts.is_generator = _scan_function(node)
        facts.declares_global = set(declared_global)
        if not path and node.name in self.s.definitions and self.s.definitions[node.name].kind == "function":
            self.s.definitions[node.name].is_generator = facts.is_generator
            if isinstance(node, ast.AsyncFunctionDef) and getattr(self, "may_loop_forever", True):
                self.s.definitions[node.name].runs_forever = _runs_forever(node)
        interesting = self.module_names | BUILTIN_NAMES
        facts.shadowed = {n for n in bound - declared_global if n in interesting}
        for stmt in imports:
            self._record_import(stmt, facts.imports)
        inner = chain + [facts]
        facts.ownership = scan_function(node, facts.params, lambda n: self._qualify(n, inner),
                                        facts.in_class is not None, self._module_lazy_globals)
        stored = self.s.functions.setdefault(fpath, facts)
        if stored is not facts:
            _merge(stored, facts)
            inner = chain + [stored]  # the second body's calls count for the one entry too
        self._with_calls[id(inner[-1])] = (set(), set())
        for stmt in node.body:
            self._walk(stmt, inner, None, fpath)
        if inner[-1].reads_content_length:
            inner[-1].limited_paths = _limited_paths(node)
        in_with, elsewhere = self._with_calls.pop(id(inner[-1]))
        only_in_with = in_with - elsewhere
        inner[-1].called_only_in_with = only_in_with if stored is facts else stored.called_only_in_with & only_in_with

    def _call(self, node: ast.Call, chain: List[FunctionFacts]) -> None:
        func = node.func
        callee = self._qualify(func, chain)
        self.s.called.update(callee)
        if isinstance(func, ast.Attribute):
            self.s.called_methods.add(func.attr)
        if chain:
            self._stored_by_call(node, callee, chain[-1])
        if chain:
            chain[-1].called.update(callee)
            self._with_calls[id(chain[-1])][id(node) not in self._with_items].update(callee)
            prefix = self.s.module + "."
            chain[-1].calls.update(q[len(prefix):] for q in callee if q.startswith(prefix))
        elif not self._in_lambda:
            self.s.called_at_import.update(callee)
        if callee & DEPENDS_CALLEES:
            target = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg == "dependency"), None)
            if isinstance(target, ast.Call):  # ``Depends(require_role("admin"))``: a dependency factory
                qs = self._qualify(target.func, chain)
                if qs:
                    self.s.dependency_factories.append(tuple(sorted(qs)))
            elif target is not None:
                qs = self._qualify(target, chain)
                if qs:
                    self.s.depends.append(tuple(sorted(qs)))
        if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and func.func.attr in ROUTE_VERBS \
                and len(node.args) == 1 and not node.keywords:
            self._route_registration(func, node.args[0], chain)
        endpoint = None
        if isinstance(func, ast.Attribute) and func.attr in ENDPOINT_REGISTRARS:
            endpoint = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg in ("endpoint", "route")), None)
        elif callee & ROUTE_CLASSES:
            endpoint = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "endpoint"), None)
        if endpoint is not None:
            qs = self._qualify(endpoint, chain) or self._local_function(endpoint, chain)
            if qs:
                self.s.endpoints.append(tuple(sorted(qs)))

    def _route_registration(self, decorator: ast.Call, target: ast.expr, chain: List[FunctionFacts]) -> None:
        """``router.post("/docs", summary=...)(upload_docs)``: the decorator applied by hand."""
        receivers = self._qualify(decorator.func.value, chain)
        endpoints = self._qualify(target, chain) or self._local_function(target, chain)
        first = decorator.args[0] if decorator.args else None
        path = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else ""
        if receivers and endpoints:
            self.s.route_registrations.append(
                (tuple(sorted(receivers)), decorator.func.attr, path, tuple(sorted(endpoints))))

    def _local_function(self, ref: ast.AST, chain: List[FunctionFacts]) -> Names:
        """``self.handler`` in a method, or a function defined in an enclosing function, by its path."""
        if not chain:
            return frozenset()
        here = next((p for p, f in self.s.functions.items() if f is chain[-1]), None)
        if here is None:
            return frozenset()
        if isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name) and chain[-1].in_class \
                and chain[-1].params[:1] == (ref.value.id,):
            return frozenset({f"{self.s.module}.{chain[-1].in_class}.{ref.attr}"})
        if isinstance(ref, ast.Name):
            return frozenset({f"{self.s.module}.{here}.{ref.id}"})
        return frozenset()


def _merge(old: FunctionFacts, new: FunctionFacts) -> None:
    """Two functions with one path (property setters, conditional defs): be conservative."""
    old.shadowed |= new.shadowed
    old.imports.update(new.imports)
    old.decorators.extend(new.decorators)
    old.is_generator = old.is_generator or new.is_generator
    old.calls |= new.calls
    old.called |= new.called


def is_test_module_name(module: str) -> bool:
    """``ModuleSummary.is_test_module`` by dotted name, for project facts that keep only the name."""
    parts = module.split(".")  # package-relative: a checkout under /home/me/test/ is not a test
    name = parts[-1]
    return name == "conftest" or name.startswith("test_") or name.endswith("_test") or \
        any(p in ("tests", "test") for p in parts[:-1])


def _is_main_guard(test: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return any(isinstance(x, ast.Name) and x.id == "__name__" for x in sides) and \
        any(isinstance(x, ast.Constant) and x.value == "__main__" for x in sides)


def _blocks(stmt: ast.stmt) -> List[List[ast.stmt]]:
    blocks = [getattr(stmt, "body", []), getattr(stmt, "orelse", []), getattr(stmt, "finalbody", [])]
    blocks += [h.body for h in getattr(stmt, "handlers", [])]
    return blocks


def _runs_forever(fn: ast.AST) -> bool:
    """A ``while True:``/``while 1:`` loop in ``fn``'s own scope that no own ``break``/``return`` leaves."""
    stack: List[ast.AST] = list(fn.body)  # type: ignore[attr-defined]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, ast.While) and isinstance(node.test, ast.Constant) and node.test.value \
                and not _leaves(node.body, True):
            return True
        stack.extend(child_nodes(node))
    return False


def _leaves(body: List[ast.stmt], own_loop: bool) -> bool:
    stack: List[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return) or (own_loop and isinstance(node, ast.Break)):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(node, (ast.While, ast.For, ast.AsyncFor)):
            if _leaves(node.body, False) or _leaves(node.orelse, own_loop):
                return True
            continue
        stack.extend(child_nodes(node))
    return False


def _limited_paths(fn: ast.AST) -> Tuple[str, ...]:
    """The paths the body-size check in ``fn`` is limited to: a test on the request path whose
    branch holds the ``content-length`` read (``if path == "/upload": <check>``), or that passes
    every other request on before the read (``if not path == "/upload": return await ...``).
    Other path tests (an exemption, or one that has nothing to do with the check) leave the check
    for every path: ``()``, as for no path test at all."""
    reads = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Constant) and isinstance(n.value, str)
             and n.value.lower() == "content-length"]
    found: List[str] = []
    for node in ast.walk(fn):
        if not (isinstance(node, ast.If) and node.body and reads):
            continue
        test = _path_test(node.test)
        if test is None:
            continue
        first, last = node.body[0].lineno, getattr(node.body[-1], "end_lineno", node.body[-1].lineno)
        holds_check = any(first <= line <= (last or first) for line in reads)
        passes_others_first = isinstance(node.body[-1], ast.Return) and node.lineno < min(reads)
        if (test[0] and holds_check) or (not test[0] and passes_others_first):
            found.extend(test[1])
    return tuple(sorted(set(found)))


def _path_test(test: ast.expr) -> Optional[Tuple[bool, List[str]]]:
    """(True if the test holds exactly for the literal paths, False if it holds for every other
    path, the paths) for a test that compares with literals that start with ``/``; else None."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _path_test(test.operand)
        return None if inner is None else (not inner[0], inner[1])
    if isinstance(test, ast.BoolOp):
        parts = [p for p in (_path_test(v) for v in test.values) if p is not None]
        wanted = isinstance(test.op, ast.And)  # ``a and path == x`` holds only for x; ``a or path != x`` for all but x
        chosen = [p for p in parts if p[0] == wanted]
        return (wanted, [path for p in chosen for path in p[1]]) if chosen else None
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        paths = [c for side in (test.left, test.comparators[0]) for c in _path_literals(side)]
        if paths and isinstance(test.ops[0], (ast.Eq, ast.In)):
            return True, paths
        if paths and isinstance(test.ops[0], (ast.NotEq, ast.NotIn)):
            return False, paths
    return None  # ``path.startswith("/api")`` limits a prefix of the full path, which routes do not know


def _path_literals(node: ast.expr) -> List[str]:
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)
            and i.value.startswith("/")]


def _scan_function(fn) -> Tuple[Set[str], Set[str], List[ast.stmt], bool]:
    """One pass over a function's own scope: names it binds, names it declares global/nonlocal,
    its import statements (nested functions' included: rare, and merging only hides findings),
    and whether it is a generator."""
    bound: Set[str] = set()
    declared: Set[str] = set()
    imports: List[ast.stmt] = []
    generator = False
    args = fn.args
    for arg in args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]:
        bound.add(arg.arg)
    stack: List[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is ast.Name:
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            continue
        if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    imports.append(inner)
            continue
        if kind in (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp):
            continue
        if kind in (ast.Yield, ast.YieldFrom):
            generator = True
        elif kind in (ast.Global, ast.Nonlocal):
            declared.update(node.names)
        elif kind is ast.ExceptHandler and node.name:
            bound.add(node.name)
        elif kind in (ast.Import, ast.ImportFrom):
            imports.append(node)
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        stack.extend(child_nodes(node))
    return bound, declared, imports, generator


def summarise(source: bytes, path: str, module: str, package: str) -> ModuleSummary:
    """Build the summary; a syntax error is recorded, not raised (the engine reports it)."""
    summary = ModuleSummary(path=path, module=module, package=package)
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        # syntax newer than this interpreter's ast (PEP 695, 701, 758...): summarise its older spelling
        older = downgrade(source)
        if older is None:
            summary.syntax_error = (exc.msg, exc.lineno or 1, (exc.offset or 1))
            return summary
        source, tree = older, ast.parse(older, filename=path)
    except (ValueError, UnicodeDecodeError) as exc:  # null bytes, undecodable source
        summary.syntax_error = (str(exc), 1, 1)
        return summary
    summariser = _Summariser(summary, tree)
    summariser.may_loop_forever = b"while True" in source or b"while 1" in source
    summariser.run()
    return summary


def _class_attributes(cls: ast.ClassDef) -> Dict[str, str]:
    """Names the class body binds (not under ``if``): ``"="`` for ``kind = "export"``, ``":"`` for
    ``kind: str = KIND`` (a dataclass or model field a constructor may override), both one value per
    class fixed at import; ``"?"`` when bound by a call (``field()``, ``Column()``), a ``def``, or twice."""
    out: Dict[str, str] = {}
    for stmt in cls.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[stmt.name] = "?"
            continue
        if isinstance(stmt, ast.Assign):
            targets, how = stmt.targets, "="
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, how = [stmt.target], ":"
        else:
            continue
        if any(isinstance(n, (ast.Call, ast.Lambda, ast.Await, ast.NamedExpr)) for n in ast.walk(stmt.value)):
            how = "?"
        for target in targets:
            if isinstance(target, ast.Name):
                out[target.id] = "?" if target.id in out else how
    return out


#: calls that copy an object with some fields changed: ``replace(job, kind=v)``
_COPY_WITH_CHANGES = frozenset({"dataclasses.replace", "attr.evolve", "attrs.evolve", "copy.replace"})


def _type_of_self(func: ast.expr) -> bool:
    """``type(self)(...)`` / ``self.__class__(...)``: a construction of the method's own class."""
    if isinstance(func, ast.Call) and getattr(func.func, "id", None) == "type":
        return True
    return isinstance(func, ast.Attribute) and func.attr == "__class__"


def _instance_dict(value: ast.expr) -> Optional[ast.expr]:
    """``vars(x)`` or ``x.__dict__``, an object's attributes as a dict: that object ``x``."""
    if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "vars" and len(value.args) == 1:
        return value.args[0]
    return value.value if isinstance(value, ast.Attribute) and value.attr == "__dict__" else None
