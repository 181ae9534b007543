"""LL204 growing-instance-cache: an instance container only ever added to, on a process-lifetime instance."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.rule import Rule
from leaklint.rules.caches._common import _literal_entry, _qualified_head, _resets_entry
from leaklint.rules.caches.ll204_growing_instance_cache_examples import INVALID, VALID
from leaklint.rules.caches.ll204_late_removal_examples import LATE_REMOVAL_INVALID, LATE_REMOVAL_VALID
from leaklint.rules.caches.ll204_lifetime_examples import LIFETIME_INVALID, LIFETIME_VALID
from leaklint.semantics import flow
from leaklint.semantics import state
from leaklint.semantics.callgraph import request_path
from leaklint.semantics.instances import ancestors, descendants, process_lifetime

LISTENER_NAMES = re.compile(r"listen|subscri|callback|handler|observer|hook|watcher|waiter", re.IGNORECASE)


@dataclass
class _InstanceCache:
    cls: cst.ClassDef
    path: str  # the class's dotted path in its module
    attr: str
    kind: str
    #: growth outside ``__init__``, in source order: (node, method, the function it runs in: the
    #: method, or a closure in it such as a route declared by ``register_routes``)
    growths: List[Tuple[cst.CSTNode, cst.FunctionDef, str]] = field(default_factory=list)
    managed: bool = False  # evicted, reassigned, size-checked or handed elsewhere
    #: methods that remove entries only after a ``yield`` (not in ``finally``): on the happy path only
    late_removals: List[str] = field(default_factory=list)
    #: literal keys whose entry a method replaces (``self.x["refs"] = [...]``): what grows in it is reset
    reset_entries: Set[str] = field(default_factory=set)


class GrowingInstanceCache(Rule):
    """## What it does
    Finds an instance container (`self.x = {}` / `[]` / `set()` / `defaultdict(...)` in
    `__init__`) that a method adds to while running per request (reached from a route,
    dependency, middleware or websocket handler through calls in any linted module), on a class
    whose instance lives for the whole process: instantiated at module level in any linted
    module, stored on `app.state`, or returned by a cached factory (`@lru_cache def
    get_service(): return Service()`, the FastAPI singleton-dependency idiom), and that nothing
    in the class ever evicts from. Listener and subscriber lists that every request appends to
    are the common case; the message names the request path. An object held in an attribute
    of such an instance (`self.model = Model()` in its `__init__`, `Model` made nowhere else)
    lives as long. A removal that a generator makes only after a `yield`, outside `finally`, runs
    only when the stream is read to its end: an entry made per request and removed so is
    reported too (a client that disconnects from a `StreamingResponse` leaves it behind).

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

    @app.post("/watch")
    async def watch(topic: str):
        bus.subscribe(lambda event: print(topic, event))
    ```

    Use instead: add the way out (`unsubscribe()` calling `self.listeners.remove(callback)`),
    hold callbacks in a `weakref.WeakSet`, or bound the cache (`cachetools.LRUCache`).

    ## Known problems
    Growth that no per-request code reaches (import-time registration, startup hooks, jobs) is
    not reported, and neither is growth in methods that look like registration (decorators,
    names containing `regist`, methods called at module level). A container passed to
    another function, returned or aliased is assumed to be managed elsewhere. A key space
    bounded by configuration is recognised only when `__init__` fills the container in a loop
    (`for name in PROVIDERS: self._clients[name] = ...`); a membership check in a caller
    (`if provider not in PROVIDERS: raise`) is not seen: suppress such a finding with
    `# noqa: LL204`. A store that runs only for a key already there (`if key not in self.x:
    return`, then `self.x[key] = value`) replaces an entry and is not growth, nor is an append to a
    list entry under a literal key that a method resets (`self.x["refs"] = [...]`).
    """

    code = "LL204"
    name = "growing-instance-cache"
    message = ("`self.{attr}` of `{cls}` only grows, in `{method}`, which runs per request ({path}), and `{cls}` "
               "lives for the whole process ({why}): {advice}")
    family = "caches"
    LATE_REMOVAL = ("`self.{attr}` of `{cls}` gets entries in `{method}`, which runs per request ({path}), and "
                    "`{remover}` removes them only after a `yield`: a client that stops reading a stream, or an "
                    "error raised there (in a `with` block or a request), ends the generator at it and the entry stays, while `{cls}` lives for the whole "
                    "process ({why}): remove it in a `finally`")

    valid = VALID + LATE_REMOVAL_VALID + LIFETIME_VALID
    invalid = INVALID + LATE_REMOVAL_INVALID + LIFETIME_INVALID

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return state.may_hold_process_lifetime_instance(summary, project)

    def visit_Module(self, node: cst.Module) -> None:
        self.candidates: List[_InstanceCache] = []
        self.import_time: Set[str] = set()
        self.class_methods: Dict[str, List[cst.FunctionDef]] = {}  # class path -> its methods

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self.import_time |= _qualified_head(self.ctx, node.decorator)

    def visit_Call(self, node: cst.Call) -> None:
        if not any(isinstance(n, cst.FunctionDef) for n in self.ctx.stack):
            self.import_time |= self.ctx.qualify(node.func)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.ctx.enclosing(cst.FunctionDef, node) is not None or not isinstance(node.body, cst.IndentedBlock):
            return
        methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        class_path = ".".join(n.name.value for n in self.ctx.stack if isinstance(n, cst.ClassDef))
        self.class_methods[class_path] = methods
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
                    found[target.attr.value] = _InstanceCache(node, class_path, target.attr.value, kind)
        if not found:
            return
        late: list = []  # (entry, removal, method, parents) of removals after a ``yield``
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
                    if use.kind == "grow" and _in_loop(n, parents):
                        # filled from a loop over the configuration: later growth is the lazy
                        # fallback for the same keys (one client per configured provider)
                        entry.managed = True
                    continue  # filling or resetting it while constructing is bounded
                if use.kind == "evict" and flow.after_a_yield(n, parents.get, method):
                    late.append((entry, n, method, parents))  # judged once the method's growths are seen
                elif use.kind in ("evict", "escape"):
                    entry.managed = True
                elif use.kind == "grow" and isinstance(use.node, cst.Subscript) and _literal_entry(use.node):
                    if _resets_entry(use.node, parents):
                        entry.reset_entries.add(_literal_entry(use.node) or "")
                elif use.kind == "grow" and not state.constant_key(use.node) \
                        and not state.lazily_initialised(n, me, parents) \
                        and not state.only_overwrites(use.node, parents):
                    runner = f"{self.ctx.summary.module}.{class_path}.{_path_within(n, parents, method)}"
                    entry.growths.append((use.node, method, runner))
        for entry, removal, method, parents in late:
            made_here = [node for node, grower, _ in entry.growths if grower is method]
            late_here = flow.late_for(removal, made_here, parents.get, method)
            entry.late_removals += [method.name.value] if late_here else []
            entry.managed = entry.managed or not late_here
        self.candidates.extend(found.values())

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.candidates:
            return
        prefix = self.ctx.summary.module + "."
        project = self.ctx.project
        instances_of: Dict[str, Set[str]] = {}  # class -> module-level instances of it here
        for name, d in self.ctx.summary.definitions.items():
            if d.kind == "call":
                for callee in d.callee:
                    instances_of.setdefault(project.canonical(callee), set()).add(name)
        for entry in self.candidates:
            entry.growths = [g for g in entry.growths if _literal_entry(g[0]) not in entry.reset_entries]
            if entry.managed or not entry.growths:
                continue
            cls_name = entry.cls.name.value
            qualified = self.ctx.project.canonical(prefix + cls_name)
            # a base or a subclass here may remove entries too: ``self`` is also one of its instances
            for relative in [*ancestors(project, qualified), *descendants(project, qualified)]:
                for method in self.class_methods.get(relative[len(prefix):], ()) if relative.startswith(prefix) else ():
                    self._removals(entry, method)
            if entry.managed or self._redefined_below(entry, qualified, prefix):
                continue
            why = process_lifetime(project, qualified)
            if why is None:
                continue
            # the first growth in a method that runs per request (one grown at import, at startup or
            # by a job is registration, not a leak; another method may still grow it per request)
            # (a closure that runs per request counts whatever its method is named: ``register_routes``)
            per_request = [(node, method, runner) for node, method, runner in entry.growths
                           if runner in project.per_request and (not runner.endswith(f".{method.name.value}")
                           or not self._registration(method, prefix, instances_of.get(qualified, ())))]
            if not per_request:
                continue
            # with a late removal, the growth beside it (where the entry is made) is the one to fix
            node, method, method_name = next((g for g in per_request if g[1].name.value in entry.late_removals),
                                             per_request[0])
            listener = bool(LISTENER_NAMES.search(entry.attr) or LISTENER_NAMES.search(method.name.value))
            advice = ("add an unsubscribe path or hold them in a `weakref.WeakSet`" if listener
                      else "evict entries or use a bounded cache (`cachetools.LRUCache` / `TTLCache`)")
            shown = method_name[len(f"{prefix}{entry.path}."):]  # ``get``, or ``register_routes.chat``
            path = request_path(self.ctx.project, method_name)
            message = None if not entry.late_removals else self.LATE_REMOVAL.format(
                attr=entry.attr, cls=cls_name, method=shown, path=path, why=why, remover=entry.late_removals[0])
            self.report(node, message, attr=entry.attr, cls=cls_name, method=shown, why=why, advice=advice, path=path)

    def _redefined_below(self, entry: _InstanceCache, qualified: str, prefix: str) -> bool:
        """``entry``'s class lives for the process only as a subclass here that makes the same
        container in its own ``__init__``: that subclass's finding covers it."""
        project = self.ctx.project
        if process_lifetime(project, qualified, subclasses=False) is not None:
            return False
        return any(c.attr == entry.attr and project.canonical(prefix + c.path) in descendants(project, qualified)
                   for c in self.candidates)

    def _removals(self, entry: _InstanceCache, method: cst.FunctionDef) -> None:
        """What ``method`` of a related class does to ``entry``: evicts, hands it on, or removes only after a ``yield``."""
        me = _self_name(method)
        if me is None or state.decorated_with(self.ctx, method, state.STATIC_OR_CLASS):
            return
        parents = flow.parent_map(method)
        for n in flow.walk(method.body):
            if isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == me \
                    and n.attr.value == entry.attr:
                use = state.classify_use(self.ctx, n, parents.get)
                if use.kind == "evict" and flow.after_a_yield(n, parents.get, method):
                    entry.late_removals.append(method.name.value)
                elif use.kind in ("evict", "escape") and method.name.value != "__init__":
                    entry.managed = True

    def _registration(self, method: cst.FunctionDef, prefix: str, instances: Set[str]) -> bool:
        return state.is_registration_function(method) or any(
            f"{prefix}{i}.{method.name.value}" in self.import_time for i in instances)


def _self_name(fn: cst.FunctionDef) -> Optional[str]:
    params = list(fn.params.posonly_params) + list(fn.params.params)
    return params[0].name.value if params else None


def _in_loop(node: cst.CSTNode, parents) -> bool:
    current = parents.get(node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        if isinstance(current, cst.For):
            return True
        current = parents.get(current)
    return False


def _path_within(node: cst.CSTNode, parents, method: cst.FunctionDef) -> str:
    """``method`` or ``method.route.streaming``: the dotted path of the function ``node`` runs in."""
    names: List[str] = []
    current = parents.get(node)
    while current is not None and current is not method:
        if isinstance(current, (cst.FunctionDef, cst.ClassDef)):
            names.append(current.name.value)
        current = parents.get(current)
    return ".".join([method.name.value] + names[::-1])
