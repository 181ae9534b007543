"""Map phase of the ownership analysis: what one function does with resources, as plain names.

Per function (stdlib ``ast``, picklable): which values it returns and yields (described by the
call that made them: ``SessionLocal()``, ``get_factory()()``, ``next(gen())``, a parameter), what
it does with each parameter (calls a method on it, uses it in ``with``, passes it to another call,
stores or returns it), and which functions it reaches (for the per-request call graph). Names are
qualified in the function's scope; what they *are* is decided in the reduce phase, where every
module of the project is known (``semantics.ownership``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Set, Tuple

from leaklint.semantics.resources import (DOCUMENT_PARSERS, IN_MEMORY_BUFFERS, OWNING_CALLS, SHARED_POOL_KEYWORDS,
                                          THREAD_RUNNERS)

Names = FrozenSet[str]
#: ("call", callee) | ("call-of-call", inner callee) | ("next", generator function) | ("param", (index,))
#: | ("ref", names) | ("temp", ("named" | "mkstemp",)) | ("temp-item", (index, "named" | "mkstemp")), a
#: tuple's item: how a returned or yielded value was made
Value = Tuple[str, Tuple[str, ...]]
#: what a parameter's use is: ("method", name) | ("with", "") | ("pass", callee, slot) | ("escape", "")
Use = Tuple[str, ...]


@dataclass
class Ownership:
    returns: List[Value] = field(default_factory=list)
    yields: List[Value] = field(default_factory=list)
    param_uses: Dict[int, List[Use]] = field(default_factory=dict)
    #: call-graph edges that qualified names do not show: ``self.m()`` (method names), nested ``inner()``,
    #: ``x = Cls(); x.m()`` (class candidates, method), functions passed as arguments (callbacks)
    self_calls: Set[str] = field(default_factory=set)
    nested_calls: Set[str] = field(default_factory=set)
    #: ``helper()`` of a name that neither this function nor the module binds: a function nested in
    #: an enclosing function (two closures of one app factory calling each other)
    outer_calls: Set[str] = field(default_factory=set)
    instance_calls: Set[Tuple[Tuple[str, ...], str]] = field(default_factory=set)
    #: ``self.model.tts(...)`` in a method: (attribute, method); ``attribute_values`` of the class's
    #: methods (``self.model = Model(...)``: attribute -> the callee's candidates) say what it holds
    attribute_calls: Set[Tuple[str, str]] = field(default_factory=set)
    attribute_values: Dict[str, Tuple[str, ...]] = field(default_factory=dict)
    callbacks: Set[Tuple[str, ...]] = field(default_factory=set)
    #: callees that run once, not on every call: their result is memoised (``_store = Store()`` under
    #: ``global``, ``cache[k] = Make()``, ``self._x = Make()`` under an ``if``), or an ASGI app calls them
    #: only for the lifespan (``if scope["type"] == "lifespan":``); ``direct``: all other calls
    run_once: Set[str] = field(default_factory=set)
    direct: Set[str] = field(default_factory=set)
    #: parameter index -> qualified names of its annotation (``file: UploadFile``)
    param_types: Dict[int, Tuple[str, ...]] = field(default_factory=dict)
    #: calls made only when a parameter is missing (``engine or make_engine()``, ``if client is None:
    #: client = Client()``): callee -> that parameter's index
    fallback: Dict[str, int] = field(default_factory=dict)
    #: what every call to a callee passes for sure: callee -> (positional count, keyword names)
    passes: Dict[str, Tuple[int, Tuple[str, ...]]] = field(default_factory=dict)
    #: what every call to a callee passes in each slot (``"0"``, ``"1"``, ... or a keyword): ``"="`` a
    #: literal, ``"p2"`` this function's parameter 2 unchanged, ``"?"`` anything else; a slot some call
    #: leaves out counts as ``"="`` (its default); ``{"*": "?"}`` after ``f(*args)`` / ``f(**kw)``
    arguments: Dict[str, Dict[str, str]] = field(default_factory=dict)
    #: a function without parameters whose every return is fixed by the code base and its
    #: configuration, given that these argument-less callees' returns are too (``return _config``,
    #: ``return str(files("pkg").joinpath("x.yaml"))``); None when some return is not
    fixed_return: Optional[Tuple[str, ...]] = None


#: per node type, the fields that can hold child nodes: ``ctx`` (``Load``/``Store``), ``op`` and
#: ``ops`` hold only leaf markers that no summary looks at, and they are a third of all nodes; the
#: others named here hold identifiers, numbers or flags in every node type of the grammar
_CHILD_FIELDS: Dict[type, Tuple[str, ...]] = {ast.Constant: ()}
_LEAF_FIELDS = frozenset({"ctx", "op", "ops", "id", "arg", "attr", "asname", "module", "level",
                          "conversion", "is_async", "simple", "kind", "type_comment"})


def child_nodes(node: ast.AST) -> List[ast.AST]:
    """``ast.iter_child_nodes(node)`` (same order) without the two generators and without the
    context and operator markers: the map phase iterates every node's children several times."""
    kind = type(node)
    fields = _CHILD_FIELDS.get(kind)
    if fields is None:
        fields = _CHILD_FIELDS[kind] = tuple(f for f in kind._fields if f not in _LEAF_FIELDS)
    out: List[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            out.append(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    out.append(item)
    return out


def _constant(value: ast.expr) -> bool:
    if isinstance(value, ast.Constant):
        return True
    return isinstance(value, ast.Tuple) and all(_constant(e) for e in value.elts)


def _merge_slots(known: Dict[str, str], slots: Dict[str, str]) -> Dict[str, str]:
    """Two calls to one callee: a slot keeps its kind only where both agree (a left-out slot is
    ``"="``); two fixed values stay fixed, with the callees both depend on."""
    if "*" in known or "*" in slots:
        return {"*": "?"}
    merged = {}
    for slot in known.keys() | slots.keys():
        a, b = known.get(slot, "="), slots.get(slot, "=")
        if a != b and {a[:2], b[:2]} <= {"=", "r:"}:
            depends = {d for kind in (a, b) if kind.startswith("r:") for d in kind[2:].split(",")}
            merged[slot] = "r:" + ",".join(sorted(depends))
        else:
            merged[slot] = a if a == b else "?"
    return merged


#: calls whose result differs from call to call whatever they are given
_FRESH_VALUES = ("random.", "secrets.", "uuid.uuid1", "uuid.uuid4", "time.", "datetime.", "os.urandom",
                 "itertools.count", "builtins.next", "builtins.id", "builtins.object", "builtins.input")


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_NEXT = frozenset({"builtins.next", "builtins.anext"})
_NAMED_TEMP = frozenset({"tempfile.NamedTemporaryFile"})
#: calls that take a function or class only to look at it, never to call it
_INSPECTING = frozenset({"builtins.isinstance", "builtins.issubclass", "builtins.type", "builtins.getattr",
                         "builtins.hasattr", "builtins.setattr", "builtins.id", "builtins.repr", "builtins.print",
                         "typing.cast", "inspect.signature", "inspect.iscoroutinefunction",
                         "asyncio.iscoroutinefunction", "dataclasses.fields", "typing.get_type_hints"})
_MKSTEMP = frozenset({"tempfile.mkstemp"})
#: module-level names whose attributes change with every request
_REQUEST_PROXIES = ("flask.request", "flask.g", "flask.session", "quart.request", "quart.g", "quart.session",
                    "starlette_context.context")
DEPENDS_CALLEES = frozenset(
    {"fastapi.Depends", "fastapi.Security", "fastapi.params.Depends", "fastapi.params.Security",
     "fastapi.param_functions.Depends", "fastapi.param_functions.Security"}
)
#: an attribute named like configuration, read through (``service.config.api_keys``, ``self.settings.x``)
_CONFIG_ATTRIBUTE = re.compile(r"^(?:\w+_)?(?:config|settings|conf|cfg|configuration)$", re.IGNORECASE)


class _Scanner:
    def __init__(self, fn, params: Tuple[str, ...], qualify: Callable[[ast.AST], Names], is_method: bool) -> None:
        self.fn = fn
        #: ``service: FileService = Depends(...)``: parameter -> its annotation's qualified names
        self.param_types: Dict[str, Names] = {}
        args = fn.args
        for arg in args.posonlyargs + args.args + args.kwonlyargs:
            names = frozenset(n for part in annotation_parts(arg.annotation) for n in qualify(part))
            if names:
                self.param_types[arg.arg] = names
        self.params = {name: i for i, name in enumerate(params)}
        self.qualify = qualify
        self.self_name = params[0] if is_method and params else None
        #: ``self`` and parameters the framework injects (``service: Service = Depends(get_service)``):
        #: objects of the application, not values of the request
        self.injected = {self.self_name} | {arg.arg for arg, default in _defaults(args)
                                            if _is_injection(default, arg.annotation, qualify)}
        self.out = Ownership()
        self.parents: Dict[ast.AST, ast.AST] = {}
        self.bound: Dict[str, List[ast.expr]] = {}  # local name -> values assigned to it
        self.nested: Set[str] = set()
        #: locals also stored on an object (``request.app.state.client = client``): that object owns them
        self.kept_on_objects: Set[str] = set()
        #: ``globals_set_by_functions`` of the module, computed on first need (few functions ask)
        self.lazy_globals: Callable[[], FrozenSet[str]] = frozenset
        self._store_counts: Optional[Dict[str, int]] = None

    def run(self) -> Ownership:
        self.out.param_types = {self.params[n]: tuple(sorted(t)) for n, t in self.param_types.items()
                                if n in self.params}
        nodes: List[ast.AST] = []
        stack: List[ast.AST] = list(self.fn.body)
        for stmt in self.fn.body:
            self.parents[stmt] = self.fn
        while stack:
            node = stack.pop()
            nodes.append(node)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.nested.add(node.name)
                continue
            if isinstance(node, ast.Lambda):
                continue
            for child in child_nodes(node):
                self.parents[child] = node
                stack.append(child)
        #: names assigned anywhere here (``for name in ...``, ``name, x = ...``): not the caller's value any more
        self.stored = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        self.declared_global = {n for node in nodes if isinstance(node, (ast.Global, ast.Nonlocal)) for n in node.names}
        for node in nodes:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                self.bound.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(node.target, ast.Name):
                self.bound.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, ast.NamedExpr):
                self.bound.setdefault(node.target.id, []).append(node.value)
            made = _made_value(node)
            if made is not None:
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:  # type: ignore[union-attr]
                    attr = self.self_attribute(target)
                    if attr is not None:
                        held = set(self.out.attribute_values.get(attr, ())) | self.qualify(made.func)
                        self.out.attribute_values[attr] = tuple(sorted(held))
        self.kept_on_objects = {node.value.id for node in nodes if isinstance(node, ast.Assign) and
                                isinstance(node.value, ast.Name) and any(self.owning(t) for t in node.targets)}
        self.temp_objects, self.temp_paths = self.temp_names(nodes)
        if not self.params:
            self.out.fixed_return = self.fixed_returns(nodes)
        for node in nodes:
            if isinstance(node, ast.Return) and node.value is not None:
                self.out.returns.extend(self.describe(node.value))
            elif isinstance(node, (ast.Yield, ast.YieldFrom)) and node.value is not None:
                self.out.yields.extend(self.describe(node.value))
            elif isinstance(node, ast.Call):
                self.call_edges(node)
                callee = self.qualify(node.func)
                once = self.memoised(node) or self.for_lifespan(node) or self.until_global_set(node)
                (self.out.run_once if once else self.out.direct).update(callee)
                self.record_arguments(node, callee)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in self.params:
                self.out.param_uses.setdefault(self.params[node.id], []).append(self.use_of(node))
        return self.out

    def record_arguments(self, call: ast.Call, callee: Names) -> None:
        """What this call passes, and whether it only stands in for a missing parameter."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            passed = (1 << 16, ("*",))  # ``f(*args, **kwargs)``: may pass anything
        else:
            passed = (len(call.args), tuple(sorted(k.arg for k in call.keywords)))
        missing = self.missing_parameter(call)
        slots = self.argument_slots(call) if callee else {}
        for name in callee:
            known = self.out.arguments.get(name)
            self.out.arguments[name] = slots if known is None else _merge_slots(known, slots)
            before = self.out.passes.get(name)
            self.out.passes[name] = passed if before is None else (
                min(before[0], passed[0]), tuple(sorted(set(before[1]) & set(passed[1]))))
            # a fallback only while every call to it in this function stands in for the same parameter
            if before is None and missing is not None:
                self.out.fallback[name] = missing
            elif self.out.fallback.get(name) != missing:
                self.out.fallback.pop(name, None)

    def argument_slots(self, call: ast.Call) -> Dict[str, str]:
        """``f("a", key=name)`` -> ``{"0": "=", "key": "p1"}`` (see ``Ownership.arguments``)."""
        if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
            return {"*": "?"}
        slots = {str(i): self.argument_kind(a) for i, a in enumerate(call.args)}
        slots.update((k.arg, self.argument_kind(k.value)) for k in call.keywords)
        return slots

    def argument_kind(self, value: ast.expr) -> str:
        if isinstance(value, ast.Name) and value.id in self.params and value.id not in self.stored:
            return f"p{self.params[value.id]}"
        depends = self.fixed_depends(value)
        if depends is not None:
            return "r:" + ",".join(sorted(depends)) if depends else "="
        return self.typed_parameter_attribute(value) or "?"

    def typed_parameter_attribute(self, value: ast.expr) -> Optional[str]:
        """``job.kind`` of a parameter annotated ``job: Job``: ``"k:mod.Job#kind"``, which the reduce
        phase judges (``call_arguments.class_constant``: one value per class of the family?)."""
        if not (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)):
            return None
        name = value.value.id
        types = self.param_types.get(name)
        if not types or name not in self.params or name in self.stored:
            return None
        return "k:" + ",".join(sorted(f"{t}#{value.attr}" for t in types))

    def fixed_returns(self, nodes: List[ast.AST]) -> Optional[Tuple[str, ...]]:
        returns = [n.value for n in nodes if isinstance(n, ast.Return)]
        if not returns or any(r is None for r in returns) or \
                any(isinstance(n, (ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)) for n in nodes):
            return None
        depends = self.fixed_union(returns, 0)  # type: ignore[arg-type]
        return None if depends is None else tuple(sorted(depends))

    def fixed_depends(self, value: ast.expr, depth: int = 0) -> Optional[FrozenSet[str]]:
        """A value fixed by the code base and its configuration (``f"{get_config().data_dir}/x.yaml"``,
        ``a if exists(a) else b`` of such locals): the argument-less callees (``"0:name"``) whose
        returns must be fixed too; None when it may differ per call."""
        if depth > 8:
            return None
        if _constant(value) or self.fixed_value(value):
            return frozenset()
        parts: List[ast.expr]
        if isinstance(value, ast.Name):
            bound = self.bound.get(value.id)
            if value.id in self.params or not bound or self.store_counts().get(value.id) != len(bound):
                return None  # a parameter, or also bound by ``for``, unpacking, ``with ... as``
            parts = bound
        elif isinstance(value, ast.JoinedStr):
            parts = [v.value for v in value.values if isinstance(v, ast.FormattedValue)]
        elif isinstance(value, ast.BinOp):
            parts = [value.left, value.right]
        elif isinstance(value, ast.IfExp):
            parts = [value.body, value.orelse]
        elif isinstance(value, ast.Attribute):
            parts = [value.value]
        elif isinstance(value, ast.Call) and all(k.arg is not None for k in value.keywords):
            return self.fixed_call(value, depth)
        else:
            return None
        return self.fixed_union(parts, depth)

    def store_counts(self) -> Dict[str, int]:
        if self._store_counts is None:
            self._store_counts = {}
            for node in self.parents:
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    self._store_counts[node.id] = self._store_counts.get(node.id, 0) + 1
        return self._store_counts

    def fixed_union(self, parts: List[ast.expr], depth: int) -> Optional[FrozenSet[str]]:
        out: Set[str] = set()
        for part in parts:
            depends = self.fixed_depends(part, depth + 1)
            if depends is None:
                return None
            out |= depends
        return frozenset(out)

    def fixed_call(self, call: ast.Call, depth: int) -> Optional[FrozenSet[str]]:
        """A method of a fixed object or a library call on fixed arguments (``str(p)``,
        ``files("pkg").joinpath(name)``) is fixed; an argument-less call of a name depends on that
        function's returns; anything that makes fresh values (``uuid4()``, ``time.time()``) is not."""
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if any(isinstance(a, ast.Starred) for a in arguments):
            return None
        if isinstance(call.func, ast.Attribute) and not self.qualify(call.func):
            return self.fixed_union([call.func.value, *arguments], depth)
        names = self.qualify(call.func)
        if not names or any(n.startswith(_FRESH_VALUES) or n.startswith(_REQUEST_PROXIES) for n in names):
            return None  # ``uuid4()``, ``flask.request.args.get("q")``
        if not arguments:
            return frozenset("0:" + n for n in names)
        depends = self.fixed_union(arguments, depth)
        return None if depends is None else depends | frozenset("a:" + n for n in names)

    def fixed_value(self, value: ast.expr) -> bool:
        """A module-level or imported name, or an attribute of one (``settings.model_name``,
        ``sys.stdout``, ``Color.RED``), or configuration read through ``self`` or an injected
        dependency (``service.config.api_keys``): as many values as the code base and its
        configuration hold, not one per request. Request proxies (``flask.request.args``) are not fixed."""
        root = value
        through_config = False  # a name before the last one reads like configuration
        while isinstance(root, ast.Attribute):
            root = root.value
            label = root.attr if isinstance(root, ast.Attribute) else getattr(root, "id", "")
            through_config = through_config or bool(_CONFIG_ATTRIBUTE.match(label))
        if isinstance(root, ast.Name) and root.id in self.injected and root.id not in self.stored:
            return through_config
        if not isinstance(root, ast.Name) or root.id in self.params or root.id in self.stored:
            return False
        names = self.qualify(root)
        return bool(names) and not any(n == p or n.startswith(p + ".") for n in names for p in _REQUEST_PROXIES)

    def missing_parameter(self, call: ast.Call) -> Optional[int]:
        """The parameter whose absence this call stands in for: ``p or CALL``, ``CALL if p is None
        else p``, ``p if p else CALL``, ``if p is None: p = CALL`` / ``if not p: ...``."""
        node: ast.AST = call
        parent = self.parents.get(node)
        if isinstance(parent, ast.Await):
            node, parent = parent, self.parents.get(parent)
        if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or) and parent.values[0] is not node:
            first = parent.values[0]
            return self.params.get(first.id) if isinstance(first, ast.Name) else None
        if isinstance(parent, ast.IfExp):
            param, when_missing = _missing_test(parent.test)
            branch = parent.body if when_missing else parent.orelse
            return self.params.get(param) if param is not None and branch is node else None
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            holder = self.parents.get(parent)
            if isinstance(holder, ast.If) and parent in holder.body:
                param, when_missing = _missing_test(holder.test)
                return self.params.get(param) if param is not None and when_missing else None
        return None

    def memoised(self, call: ast.Call) -> bool:
        parent = self.parents.get(call)
        if isinstance(parent, ast.Await):
            parent = self.parents.get(parent)
        if not isinstance(parent, (ast.Assign, ast.AnnAssign)) or parent.value is not call and not (
                isinstance(parent.value, ast.Await) and parent.value.value is call):
            return False
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        for target in targets:
            if isinstance(target, ast.Subscript):
                # a cache outlives the call; a parameter or local (``files[i] = convert(f)``) does not
                base = target.value
                return not (isinstance(base, ast.Name) and (base.id in self.params or base.id in self.stored))
            if isinstance(target, ast.Name) and target.id in self.declared_global:
                return True
            if isinstance(target, ast.Attribute):
                node = parent
                while node in self.parents and node is not self.fn:
                    node = self.parents[node]
                    if isinstance(node, ast.If):
                        return True
        return False

    def until_global_set(self, call: ast.Call) -> bool:
        """Under ``if not _SINGLETON:`` / ``if _SINGLETON is None:``, where some function of the module
        sets that global: the first call initialises it, later ones skip the branch."""
        node: ast.AST = call
        while node in self.parents and node is not self.fn:
            parent = self.parents[node]
            if isinstance(parent, ast.If) and node in parent.body:
                name, when_missing = _missing_test(parent.test)
                if when_missing and name is not None and name not in self.params and \
                        (name not in self.stored or name in self.declared_global) and name in self.lazy_globals():
                    return True
            node = parent
        return False

    def for_lifespan(self, call: ast.Call) -> bool:
        """Inside ``if scope["type"] == "lifespan":`` / ``if message["type"] == "lifespan.startup":``: an
        ASGI app's startup and shutdown, which run once per process, not per request."""
        node: ast.AST = call
        while node in self.parents and node is not self.fn:
            parent = self.parents[node]
            if isinstance(parent, ast.If) and node in parent.body and _is_lifespan_test(parent.test):
                return True
            node = parent
        return False

    # -- values ---------------------------------------------------------------------------
    def temp_names(self, nodes: List[ast.AST]) -> Tuple[Set[str], Set[str]]:
        """Names of ``NamedTemporaryFile(delete=False)`` objects (``tmp = ...``, ``with ... as tmp``)
        and of ``mkstemp`` paths (``fd, path = mkstemp()``): a file that outlives them."""
        objects: Set[str] = set()
        paths: Set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.value, ast.Call):
                target = node.targets[0]
                if isinstance(target, ast.Name) and self.kept_temp_file(node.value):
                    objects.add(target.id)
                elif isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
                        isinstance(target.elts[1], ast.Name) and self.qualify(node.value.func) & _MKSTEMP:
                    paths.add(target.elts[1].id)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                objects.update(item.optional_vars.id for item in node.items
                               if isinstance(item.optional_vars, ast.Name) and self.kept_temp_file(item.context_expr))
        return objects, paths

    def kept_temp_file(self, value: ast.expr) -> bool:
        """``NamedTemporaryFile(..., delete=False)``: a file nobody removes unless the code does."""
        return isinstance(value, ast.Call) and any(
            k.arg == "delete" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in value.keywords) and bool(self.qualify(value.func) & _NAMED_TEMP)

    def owning(self, target: ast.expr) -> bool:
        """An attribute of an object that outlives the call: ``self.client`` in a method,
        ``app.state.client``, an attribute of a module-level object. Not ``request.state.client``
        (nobody closes what the request's state holds), nor one of a parameter or a local."""
        if not isinstance(target, ast.Attribute):
            return False
        holder = target.value
        if isinstance(holder, ast.Attribute) and holder.attr == "state":
            owner = holder.value
            return (owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")) == "app"
        root = holder
        while isinstance(root, ast.Attribute):
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        if root.id == self.self_name:
            return True
        return root.id not in self.params and root.id not in self.bound and root.id not in self.stored \
            and bool(self.qualify(root))

    def describe(self, value: ast.expr, depth: int = 0) -> List[Value]:
        if depth > 4:
            return []
        if isinstance(value, ast.Await):
            return self.describe(value.value, depth + 1)
        if isinstance(value, ast.Attribute) and value.attr == "name" and (
                self.kept_temp_file(value.value) or
                isinstance(value.value, ast.Name) and value.value.id in self.temp_objects):
            return [("temp", ("named",))]
        if isinstance(value, ast.Name) and value.id in self.temp_paths:
            return [("temp", ("mkstemp",))]
        if isinstance(value, ast.Tuple) and depth == 0:  # ``return path, filename``: which item is a temp path
            return [("temp-item", (str(i), *inner[1])) for i, item in enumerate(value.elts)
                    for inner in self.describe(item, depth + 1) if inner[0] == "temp"]
        if isinstance(value, ast.Call):
            if isinstance(value.func, ast.Call):
                return [("call-of-call", tuple(sorted(self.qualify(value.func.func))))]
            if isinstance(value.func, ast.Name) and value.func.id in self.bound and value.func.id not in self.params:
                # ``SessionLocal = get_db_session(config); return SessionLocal()``: a factory's product
                made = [("call-of-call", tuple(sorted(self.qualify(bound.func))))
                        for bound in self.bound[value.func.id] if isinstance(bound, ast.Call)]
                if made:
                    return made
            callee = self.qualify(value.func)
            if any(k.arg in SHARED_POOL_KEYWORDS and callee & SHARED_POOL_KEYWORDS[k.arg] and
                   not isinstance(k.value, ast.Call) for k in value.keywords):
                return []  # ``OpenAI(http_client=shared)``: the pool is the shared client's, not this one's
            if callee & _NEXT and value.args and isinstance(value.args[0], ast.Call):
                return [("next", tuple(sorted(self.qualify(value.args[0].func))))]
            return [("call", tuple(sorted(callee)))] if callee else []
        if isinstance(value, ast.Name):
            if value.id in self.declared_global or value.id in self.kept_on_objects:
                # ``global _client; _client = Client(); return _client``: a lazily made singleton; or
                # ``app.state.client = client; return client``: the object it is kept on owns it
                return []
            if value.id in self.params:
                return [("param", (str(self.params[value.id]),))]
            if value.id in self.bound:
                return [v for bound in self.bound[value.id] for v in self.describe(bound, depth + 1)]
        if isinstance(value, (ast.Name, ast.Attribute)):
            names = self.qualify(value)
            return [("ref", tuple(sorted(names)))] if names else []
        return []

    # -- parameters -----------------------------------------------------------------------
    def use_of(self, name: ast.Name) -> Use:
        parent = self.parents.get(name)
        if isinstance(parent, ast.Attribute):
            grand = self.parents.get(parent)
            if isinstance(grand, ast.Call) and grand.func is parent:
                if parent.attr == "read" and not grand.args and not grand.keywords:
                    # ``await upload.read()``: everything, in memory (unless a document parser takes it)
                    return ("method", "read", "parsed" if self.parsed(grand) else "whole")
                return ("method", parent.attr)
            if isinstance(grand, (ast.Call, ast.keyword)):  # ``stack.callback(db.close)``
                return ("escape", "")
            return ("attr", parent.attr)
        if isinstance(parent, ast.withitem) and parent.context_expr is name:
            return ("with", "")
        if isinstance(parent, (ast.Yield, ast.YieldFrom)):
            return ("attr", "")  # handed back to the caller's ``with`` body: a pass-through, not an owner
        if isinstance(parent, ast.keyword):
            parent, slot = self.parents.get(parent), parent.arg or "**"
        elif isinstance(parent, ast.Call) and name in parent.args:
            slot = str(parent.args.index(name))
        elif isinstance(parent, (ast.List, ast.Tuple)) and isinstance(self.parents.get(parent), ast.Call) and \
                parent in self.parents[parent].args:
            parent, slot = self.parents[parent], "[]"  # ``subprocess.run(["ffmpeg", "-i", path])``
        else:
            return ("escape", "") if not isinstance(parent, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If,
                                                             ast.IfExp, ast.JoinedStr, ast.FormattedValue)) \
                else ("attr", "")
        if not isinstance(parent, ast.Call):
            return ("escape", "")
        if isinstance(self.parents.get(parent), ast.withitem):  # ``with closing(p):``
            if self.qualify(parent.func) & OWNING_CALLS:
                return ("with", "")
        callee = self.callee_of(parent)
        return ("pass", ",".join(callee), slot) if callee else ("escape", "")

    def parsed(self, read: ast.Call) -> bool:
        """Does the result of ``read`` go only to a document parser (directly, via ``.decode()``,
        an ``io.StringIO`` around it, or locals)?"""
        parent = self.parents.get(read)
        return self.parser_of(parent if isinstance(parent, ast.Await) else read, 0)

    def parser_of(self, value: ast.AST, depth: int) -> bool:
        if depth > 4:
            return False
        parent = self.parents.get(value)
        if isinstance(parent, ast.Attribute) and parent.attr == "decode":
            value = self.parents.get(parent)
            parent = self.parents.get(value)
        if isinstance(parent, ast.Call) and value in parent.args:
            names = self.qualify(parent.func)
            if names & DOCUMENT_PARSERS:
                return True
            if names & THREAD_RUNNERS and parent.args[0] is not value:  # ``asyncio.to_thread(json.loads, raw)``
                return bool(self.qualify(parent.args[0]) & DOCUMENT_PARSERS)
            return bool(names & IN_MEMORY_BUFFERS) and self.parser_of(parent, depth + 1)
        if isinstance(parent, ast.Assign) and parent.value is value and len(parent.targets) == 1 \
                and isinstance(parent.targets[0], ast.Name):
            name = parent.targets[0].id
            loads = [n for n in self.parents if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
            return bool(loads) and all(self.parser_of(n, depth + 1) for n in loads)
        return False

    def callee_of(self, call: ast.Call) -> Tuple[str, ...]:
        """The callee's candidates; ``self.m(...)`` as ``<self>.m`` (the reduce phase adds ``self``'s slot)."""
        func = call.func
        if self.self_name and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == self.self_name:
            return (f"<self>.{func.attr}",)
        return tuple(sorted(self.qualify(func)))

    # -- call graph -----------------------------------------------------------------------
    def self_attribute(self, node: ast.expr) -> Optional[str]:
        """``self.model`` -> ``"model"`` (in a method)."""
        if self.self_name and isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == self.self_name:
            return node.attr
        return None

    def call_edges(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Attribute) and self.self_attribute(func.value) is not None:
            self.out.attribute_calls.add((self.self_attribute(func.value), func.attr))
        if isinstance(func, ast.Name) and func.id in self.nested:
            self.out.nested_calls.add(func.id)
        elif isinstance(func, ast.Name) and func.id not in self.params and func.id not in self.bound \
                and func.id not in self.stored and not self.qualify(func):
            self.out.outer_calls.add(func.id)
        elif isinstance(func, ast.Attribute) and _app_state_attr(func.value) is not None:
            # ``request.app.state.store.get(...)``: the object ``app.state.store = Store()`` holds
            self.out.instance_calls.add(((APP_STATE_PREFIX + _app_state_attr(func.value),), func.attr))
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            # ``Handler().handle(key)``: a method of what the call makes, as for ``h = Handler(); h.handle(key)``
            classes = self.qualify(func.value.func)
            if classes:
                self.out.instance_calls.add((tuple(sorted(classes)), func.attr))
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            receiver = func.value.id
            if receiver == self.self_name:
                self.out.self_calls.add(func.attr)
            elif receiver in self.param_types:
                self.out.instance_calls.add((tuple(sorted(self.param_types[receiver])), func.attr))
            elif receiver in self.bound and receiver not in self.params:
                for value in self.bound[receiver]:
                    if isinstance(value, ast.Await):
                        value = value.value
                    if isinstance(value, ast.Call):
                        classes = self.qualify(value.func)
                        if classes:
                            self.out.instance_calls.add((tuple(sorted(classes)), func.attr))
        if self.qualify(func) & _INSPECTING:
            return  # ``isinstance(x, Store)``: names a class or function, calls nothing
        for arg in list(call.args) + [k.value for k in call.keywords]:
            if isinstance(arg, ast.Name) and arg.id in self.nested:
                self.out.nested_calls.add(arg.id)
            elif isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == self.self_name:
                self.out.self_calls.add(arg.attr)
            elif isinstance(arg, (ast.Name, ast.Attribute)) and not (isinstance(arg, ast.Name) and (
                    arg.id in self.params or arg.id in self.bound)):
                names = self.qualify(arg)
                if names:
                    self.out.callbacks.add(tuple(sorted(names)))


def _made_value(node: ast.AST) -> Optional[ast.Call]:
    """The call whose result ``x = Cls()`` / ``x: T = Cls()`` / ``x = await make()`` binds, if any."""
    if not isinstance(node, (ast.Assign, ast.AnnAssign)):
        return None
    value = node.value.value if isinstance(node.value, ast.Await) else node.value
    return value if isinstance(value, ast.Call) else None


def _is_lifespan_test(test: ast.expr) -> bool:
    """``x["type"] == "lifespan"`` (or ``"lifespan.startup"``...), either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    constant = next((s.value for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)), "")
    return constant.split(".")[0] == "lifespan" and any(
        isinstance(s, ast.Subscript) and isinstance(s.slice, ast.Constant) and s.slice.value == "type" for s in sides)


def _defaults(args: ast.arguments) -> List[Tuple[ast.arg, Optional[ast.expr]]]:
    positional = args.posonlyargs + args.args
    padded: List[Optional[ast.expr]] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    return list(zip(positional, padded)) + list(zip(args.kwonlyargs, args.kw_defaults))


def _is_injection(default: Optional[ast.expr], annotation: Optional[ast.expr],
                  qualify: Callable[[ast.AST], Names]) -> bool:
    """``= Depends(...)`` or ``Annotated[X, Depends(...)]``."""
    marks = [default] if default is not None else []
    if isinstance(annotation, ast.Subscript) and isinstance(annotation.slice, ast.Tuple):
        marks.extend(annotation.slice.elts[1:])
    return any(isinstance(m, ast.Call) and bool(qualify(m.func) & DEPENDS_CALLEES) for m in marks)


def annotation_parts(annotation: Optional[ast.expr]) -> List[ast.expr]:
    """The classes an annotation names: ``X``, ``X | None``, ``Optional[X]``, ``Union[X, str]``, and the
    first argument of ``Annotated[X, Depends(...)]``."""
    out: List[ast.expr] = []
    stack = [annotation] if annotation is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Name, ast.Attribute)):
            out.append(node)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            stack.extend([node.left, node.right])
        elif isinstance(node, ast.Subscript):
            head = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
            inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            if head == "Annotated":
                stack.extend(inner[:1])
            elif head in ("Optional", "Union"):
                stack.extend(inner)
    return out


def _missing_test(test: ast.expr) -> Tuple[Optional[str], bool]:
    """``p is None`` / ``not p`` -> (p, True); ``p is not None`` / ``p`` -> (p, False); else (None, _)."""
    if isinstance(test, ast.Name):
        return test.id, False
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Name):
        return test.operand.id, True
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) and \
            isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None:
        if isinstance(test.ops[0], ast.Is):
            return test.left.id, True
        if isinstance(test.ops[0], ast.IsNot):
            return test.left.id, False
    return None, False


def scan_function(fn, params: Tuple[str, ...], qualify: Callable[[ast.AST], Names],
                  is_method: bool, lazy_globals: Callable[[], FrozenSet[str]] = frozenset) -> Optional[Ownership]:
    scanner = _Scanner(fn, params, qualify, is_method)
    scanner.lazy_globals = lazy_globals
    return scanner.run()


def globals_set_by_functions(tree: ast.Module) -> FrozenSet[str]:
    """Module names some function declares ``global`` and assigns: the lazy singletons of the module
    (``if not _APP: init()`` where ``init`` sets ``_APP``)."""
    out: Set[str] = set()
    scopes: List[ast.AST] = [tree]
    while scopes:  # each node is visited once: a nested function is its own scope
        scope = scopes.pop()
        declared: Set[str] = set()
        stored: Set[str] = set()
        stack = child_nodes(scope)
        while stack:
            node = stack.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                scopes.append(node)
                continue
            if isinstance(node, ast.Global):
                declared.update(node.names)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                stored.add(node.id)
            stack.extend(child_nodes(node))
        if scope is not tree:
            out.update(declared & stored)
    return frozenset(out)


#: how an instance call on ``app.state.<attr>`` names its receiver until the reduce phase resolves it
APP_STATE_PREFIX = "<app.state>."


def _app_state_attr(node: ast.expr) -> Optional[str]:
    """``x.app.state.store`` / ``app.state.store`` -> ``store``."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "state":
        holder = node.value.value
        if (isinstance(holder, ast.Attribute) and holder.attr == "app") or (
                isinstance(holder, ast.Name) and holder.id == "app"):
            return node.attr
    return None
