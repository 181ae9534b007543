"""Per-request reachability, project-wide: which functions run for every request, and by which path.

Roots are the functions the framework calls per request: route handlers (decorated, registered
with ``add_api_route``/``add_route``, declared inside an app factory or a router class, ``@self.app.post`` on the app an ``__init__`` keeps),
websocket handlers, dependencies (sub-dependencies too, and the closures a dependency factory
such as ``Depends(require_role("admin"))`` returns), HTTP and pure-ASGI middleware. Edges are the
calls of every linted module (not out of ``@lru_cache`` factories, and not calls whose result is
memoised in a global, a container or a lazily set attribute, or that an ASGI app makes only for the
lifespan: those run once): functions by qualified name, ``Class(...)`` to ``Class.__init__``,
``self.m()`` to the method, ``x = Cls(); x.m()``, ``service.m()`` on a module-level instance (or on
what a factory called there returns), ``self.model.m()`` on what a method assigns to ``self.model``,
``request.app.state.store.m()`` on what ``app.state.store = Store()`` holds,
nested functions, and functions handed to a call
as callbacks (``background_tasks.add_task(send_mail)``, ``run_in_threadpool(work)``).

The result is plain data on ``ProjectFacts``: for each reachable function the function it was
reached from, so a message can name the path (``GET /items -> get_store() -> Store.__init__``).
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Dict, Iterable, List, Optional, Set, Tuple

from leaklint.semantics.ownership_map import APP_STATE_PREFIX


def _root_label(roles, path: str) -> str:
    if roles.route:
        if roles.route_verb and roles.route_path:
            verb = "WEBSOCKET" if "websocket" in roles.route_verb else roles.route_verb.upper()
            return f"{verb} {roles.route_path}"
        return f"route `{path}`"
    if roles.dependency:
        return f"dependency `{path}`"
    return f"middleware `{path}`"


def _edges(project, record, summary_facts) -> Iterable[str]:
    functions = project.functions
    own = record.ownership
    if record.cached:  # an ``@lru_cache`` factory runs its body once per key, not per request
        return
    once = own.run_once - own.direct
    # sorted throughout: the first path found is the one messages print, the same in every process
    names: List[str] = sorted(summary_facts.called - once)
    names += [n for n in (f"{record.module}.{c}" for c in sorted(summary_facts.calls)) if n not in once]
    names += [n for group in sorted(own.callbacks) for n in group]
    for name in names:
        canonical = project.canonical(name)
        definition = project.definition(canonical)
        if canonical not in functions and definition is not None and definition.kind == "class":
            for method in ("__init__", "__post_init__"):
                if f"{canonical}.{method}" in functions:
                    yield f"{canonical}.{method}"
            continue
        yield from project.functions_of(canonical)  # ``service.get_user(...)`` on ``service = UserService()``
    qualified = f"{record.module}.{record.path}"
    for nested in sorted(own.nested_calls):
        if f"{qualified}.{nested}" in functions:
            yield f"{qualified}.{nested}"
    yield from _enclosing_scope_calls(record, own.outer_calls, functions)
    if record.in_class:
        for method in sorted(own.self_calls):
            yield from _self_call_targets(project, f"{record.module}.{record.in_class}", method)
        from leaklint.semantics.instances import attribute_classes  # instances imports this module

        for attr, method in sorted(own.attribute_calls):  # ``self.model.tts()``: what ``self.model`` holds
            for held in attribute_classes(project, f"{record.module}.{record.in_class}", attr):
                yield from _self_call_targets(project, held, method)
    for classes, method in sorted(own.instance_calls):
        for cls in _receivers(project, classes):
            target = f"{project.canonical(cls)}.{method}"
            if target in functions:
                yield target


def _enclosing_scope_calls(record, names: Iterable[str], functions) -> Iterable[str]:
    """``_enqueue(...)`` in a route closure of ``create_app`` where ``_enqueue`` is nested in
    ``create_app`` too: the innermost enclosing function that defines the name (classes do not
    enclose: a bare name in a method never means another method)."""
    parts = record.path.split(".")
    for name in sorted(names):
        for depth in range(len(parts) - 1, 0, -1):
            scope = f"{record.module}.{'.'.join(parts[:depth])}"
            if scope in functions and f"{scope}.{name}" in functions:
                yield f"{scope}.{name}"
                break


def _self_call_targets(project, cls: str, method: str) -> List[str]:
    """``self.m()`` in ``cls``: ``m`` as ``cls`` or its nearest linted base defines it, and every
    override in a linted subclass (``self`` may be any of them: a base ``__call__`` that calls
    ``self.handle_http`` runs each subclass's ``handle_http``)."""
    from leaklint.semantics.instances import descendants

    functions = project.functions
    targets = project.inherited_methods(cls, method)
    targets += [f"{sub}.{method}" for sub in descendants(project, cls) if f"{sub}.{method}" in functions]
    return targets


def _receivers(project, classes: Iterable[str]) -> Iterable[str]:
    """The classes of an instance call's receiver, ``app.state.<attr>`` resolved project-wide."""
    for cls in classes:
        if cls.startswith(APP_STATE_PREFIX):
            yield from sorted(project.app_state.get(cls[len(APP_STATE_PREFIX):], ()))
        else:
            yield cls


def roots_of(project, summary) -> Dict[str, str]:
    """The module's functions the framework calls per request: qualified name -> label."""
    from leaklint.semantics.fastapi import function_roles

    roots: Dict[str, str] = {}
    factories = project.dependency_factories
    for path in summary.functions:
        qualified = f"{summary.module}.{path}"
        roles = function_roles(summary, project, path)
        factory = next((f for f in factories if qualified.startswith(f + ".")), None)
        if roles.per_request or factory is not None:
            roots[qualified] = _root_label(roles, path) if roles.per_request else f"dependency `{path}`"
    return roots


def reach(project, roots: Iterable[Tuple[str, str]], facts_of: Dict[str, object],
          edges_of: Optional[Callable[[str, object], Iterable[str]]] = None
          ) -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
    """Breadth-first from ``roots`` (``(function, label)`` in order): ``(reached_from, root_labels)``.
    ``edges_of(function, record)`` defaults to the call edges; the editor passes a cached one.

    A call made only when a parameter is missing (``engine or make_engine()``) is followed only
    if some caller on a per-request path leaves that parameter out; the framework (a root) may
    leave out any."""
    if edges_of is None:
        def edges_of(current, record):
            return _edges(project, record, facts_of[current])
    reached: Dict[str, Optional[str]] = {}
    labels: Dict[str, str] = {}
    #: function -> indices of the parameters some caller on a path leaves out (None: any may be)
    omitted: Dict[str, Optional[Set[int]]] = {}
    queue: deque = deque()
    for qualified, label in roots:
        reached[qualified] = None
        labels[qualified] = label
        omitted[qualified] = None
        queue.append(qualified)
    while queue:
        current = queue.popleft()
        record = project.functions.get(current)
        if record is None:
            continue
        own = record.ownership
        fallback = {project.canonical(n): i for n, i in own.fallback.items()} if own.fallback else {}
        left_out = omitted.get(current)
        for target in edges_of(current, record):
            if target in fallback and left_out is not None and fallback[target] not in left_out:
                continue  # ``engine or make_engine()``: every caller here passes ``engine``
            callee = project.functions.get(target)
            # only a function with fallback calls asks what its callers leave out
            grown = callee is not None and bool(callee.ownership.fallback) and _leave_out(
                omitted, target, callee, _passed(project, own, target))
            if target not in reached:
                reached[target] = current
                queue.append(target)
            elif grown:
                reached[target] = current  # a caller leaves out more: its fallbacks run on this path
                queue.append(target)
    return reached, labels


def _passed(project, own, target: str) -> Tuple[int, Tuple[str, ...]]:
    """What every call of ``own``'s function to ``target`` passes for sure; ``(0, ())`` (nothing)
    when no recorded name resolves to it (``Cls(...)`` reaching ``Cls.__init__``: conservative)."""
    for name, passed in own.passes.items():
        if name.rpartition(".")[2] == target.rpartition(".")[2] and project.canonical(name) == target:
            return passed
    return (0, ())


def _leave_out(omitted, target: str, record, passed: Tuple[int, Tuple[str, ...]]) -> bool:
    """Record which of ``target``'s parameters a call passing ``passed`` leaves out; True if more now."""
    params = record.params
    offset = 1 if record.in_class and params[:1] in (("self",), ("cls",)) else 0
    count, keywords = passed
    missing = set() if "*" in keywords else {
        i for i, name in enumerate(params) if i >= offset and i - offset >= count and name not in keywords}
    if target not in omitted:
        omitted[target] = missing
        return True
    before = omitted[target]
    if before is None or missing <= before:
        return False
    omitted[target] = before | missing
    return True


def build(project, summaries) -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
    """``(reached_from, root_labels)``: every per-request function -> its predecessor (None for a root)."""
    facts_of = {f"{s.module}.{path}": facts for s in summaries for path, facts in s.functions.items()}
    roots = [item for s in summaries for item in roots_of(project, s).items()]
    return reach(project, roots, facts_of)


def _chain_to_root(project, qualified: str) -> List[str]:
    """``qualified`` and the functions it was reached from, back to the root the framework calls."""
    chain: List[str] = []
    node: Optional[str] = qualified
    seen = set()
    while node is not None and node not in seen:
        seen.add(node)
        chain.append(node)
        node = project.per_request.get(node)
    return chain


def root_route_path(project, qualified: str) -> Optional[str]:
    """The path of the route whose request runs ``qualified`` (``/v1/videos``: with its router's
    literal prefix), or None when the path starts at a dependency or a middleware."""
    label = project.root_labels.get(_chain_to_root(project, qualified)[-1], "")
    verb, _, path = label.partition(" ")
    return path if verb.isupper() and path.startswith("/") else None


def request_path(project, qualified: str, limit: int = 6) -> str:
    """``GET /items -> get_store() -> Store.__init__`` for a per-request function."""
    chain = _chain_to_root(project, qualified)
    chain.reverse()
    root = chain[0]
    label = project.root_labels.get(root, f"`{root}`")
    steps = [f"`{_short(project, q)}()`" for q in chain[1:]]
    if len(steps) > limit:
        steps = steps[:1] + ["..."] + steps[-(limit - 2):]
    return " -> ".join([label] + steps)


def _short(project, qualified: str) -> str:
    record = project.functions.get(qualified)
    return record.path if record is not None else qualified.rpartition(".")[2]
