"""What the project's callers pass to a function's parameter: only literals, or something else.

``_bucket(name)`` keyed by ``name`` holds as many entries as there are distinct names; when every
call of ``_bucket`` in the project passes a literal (``get_or_build(name="relation_models")`` ->
``_bucket(name)``), there are as many as the code base spells out, however many requests come in.
Built from ``Ownership.arguments`` (map phase), once per project.

Conservative where callers may be unseen: a route, a dependency, a middleware or a callback is
called by the framework or by whoever received it, and a function called at module level with
arguments the summaries do not record is left alone. Calls the call graph cannot resolve
(``obj.method(x)`` on an unknown object) are not seen at all; that can only miss a leak.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from leaklint.semantics import state

#: callee -> [(caller, slots)] for every resolved call in the project
Callers = Dict[str, List[Tuple[str, Dict[str, str]]]]


def _callers(project) -> Callers:
    out: Callers = {}
    for caller, record in project.functions.items():
        for name, slots in record.ownership.arguments.items():
            target = project.canonical(name)
            if target in project.functions and target != caller:
                out.setdefault(target, []).append((caller, slots))
    return out


def _called_elsewhere(project) -> FrozenSet[str]:
    """Functions others may call with anything: framework entry points, callbacks, module-level calls."""
    handed = state._MEMO.get(project, "handed", _handed)
    module_level = {project.canonical(c) for m in project.modules.values() for d in m.definitions.values()
                    if d.kind in ("call", "alias") for c in d.callee}
    return frozenset(handed | module_level | set(project.root_labels) | project.dependencies | project.endpoints)


def literal_parameter(project, function: str, index: int) -> bool:
    """Every call of ``function`` in the project passes a literal (or leaves out, or forwards a
    parameter that is itself literal-only) for parameter ``index``; at least one call exists."""
    callers = state._MEMO.get(project, "callers", _callers)
    elsewhere = state._MEMO.get(project, "called-elsewhere", _called_elsewhere)
    return _literal_only(project, callers, elsewhere, function, index, {})


def called_only_at_import(project, function: str) -> bool:
    """Module-level code calls ``function`` and nothing else can: no project function calls it, it is
    no entry point, callback or alias. It runs once per import, with whatever arguments it gets
    (``{(_compile(p), m): h for p, m, h in ROUTES}``)."""
    if function not in project.called_at_import:
        return False
    callers = state._MEMO.get(project, "callers", _callers)
    aliased = state._MEMO.get(project, "aliased", _aliased)
    handed = state._MEMO.get(project, "handed", _handed)
    return not callers.get(function) and function not in aliased and function not in handed and \
        function not in project.root_labels and function not in project.dependencies and \
        function not in project.endpoints


def called_in_project(project, function: str) -> bool:
    """Some linted code calls ``function``, refers to it or hands it on: its callers are known."""
    callers = state._MEMO.get(project, "callers", _callers)
    return bool(callers.get(function)) or function in project.called_at_import or \
        function in state._MEMO.get(project, "aliased", _aliased) or function in state._MEMO.get(project, "handed", _handed)


def constructed_in_project(project, cls: str) -> bool:
    """Some linted code (a function, a method, module level) constructs ``cls`` or a subclass of it
    (which runs ``cls.__init__`` too) by name."""
    from leaklint.semantics.instances import descendants

    def compute(p) -> FrozenSet[str]:
        made = {p.canonical(c) for r in p.functions.values() for c in r.ownership.direct | r.ownership.run_once}
        made.update(p.canonical(c) for m in p.modules.values() for d in m.definitions.values()
                    if d.kind == "call" for c in d.callee)
        made.update(p.called_at_import)
        return frozenset(made)
    made = state._MEMO.get(project, "constructed-in-project", compute)
    name = project.canonical(cls)
    return name in made or any(child in made for child in descendants(project, name))


def runs_with_unknown_callers(ctx, fn) -> bool:
    """Does ``fn`` run per request, or is it public with no caller in the linted code (a library's
    entry point: its callers, and how often they call, are unknown)? A private function, or one only
    a CLI, a job or startup code calls, runs as often as they do: not with traffic.
    An ``__init__`` is called where its class is constructed."""
    from leaklint.semantics.fastapi import runs_per_request

    if runs_per_request(ctx, fn):
        return True
    name = fn.name.value
    if name == "__init__":
        cls = ctx.enclosing_class(fn)
        if cls is None:
            return False
        qualified = ctx.qualified_function_name(fn)[:-len(".__init__")]
        return not cls.name.value.startswith("_") and not constructed_in_project(ctx.project, qualified)
    return not name.startswith("_") and not called_in_project(ctx.project, ctx.qualified_function_name(fn))


def bounded_parameters(project) -> Dict[str, Tuple[bool, ...]]:
    """Per function that something calls: ``called_only_at_import``, then ``literal_parameter`` per
    parameter. What the result cache keys a module's findings on: a caller elsewhere changing what
    it passes changes them."""
    callers = state._MEMO.get(project, "callers", _callers)
    out: Dict[str, Tuple[bool, ...]] = {}
    for name in set(callers) | (project.called_at_import & set(project.functions)):
        params = project.functions[name].params
        out[name] = (called_only_at_import(project, name),
                     *(literal_parameter(project, name, i) for i in range(len(params))))
    return out


def _handed(project) -> FrozenSet[str]:
    return frozenset(project.canonical(n) for r in project.functions.values() for g in r.ownership.callbacks for n in g)


def _aliased(project) -> FrozenSet[str]:
    return frozenset(project.canonical(c) for m in project.modules.values() for d in m.definitions.values()
                     if d.kind == "alias" for c in d.callee)


def _literal_only(project, callers: Callers, elsewhere, function: str, index: int,
                  known: Dict[Tuple[str, int], bool]) -> bool:
    if (function, index) not in known:
        known[(function, index)] = False  # a cycle of forwarding calls proves nothing
        known[(function, index)] = _check(project, callers, elsewhere, function, index, known)
    return known[(function, index)]


def _check(project, callers: Callers, elsewhere, function: str, index: int, known) -> bool:
    record = project.functions.get(function)
    if record is None or function in elsewhere or not callers.get(function):
        return False
    offset = 1 if record.in_class and record.params[:1] in (("self",), ("cls",)) else 0
    if index < offset or index >= len(record.params):
        return False
    keyword = record.params[index]
    for caller, slots in callers[function]:
        if "*" in slots:
            return False
        kinds = {slots.get(str(index - offset), "="), slots.get(keyword, "=")}
        if "?" in kinds:
            return False
        if any(k.startswith("r:") and not fixed(project, k[2:].split(",")) for k in kinds):
            return False
        forwarded = [int(k[1:]) for k in kinds if k.startswith("p")]
        if any(not _literal_only(project, callers, elsewhere, caller, j, known) for j in forwarded):
            return False
    return True


def fixed(project, depends, seen: Optional[Set[str]] = None) -> bool:
    """Are these ``fixed_depends`` of a value (``Ownership.fixed_return``) fixed too? ``"0:f"``: the
    project function ``f`` takes no arguments and returns a fixed value; ``"a:f"``: a library call
    on fixed arguments (``str(p)``, ``Path(...)``), not a project function or class, whose result
    the summaries do not know."""
    seen = set() if seen is None else seen
    for depend in depends:
        how, _, name = depend.partition(":")
        name = project.canonical(name)
        record = project.functions.get(name)
        if how == "a":
            definition = project.definition(name)
            if record is not None or (definition is not None and definition.kind == "class"):
                return False
            continue
        if record is None or record.ownership is None or record.ownership.fixed_return is None:
            return False
        if name not in seen:
            seen.add(name)
            if not fixed(project, record.ownership.fixed_return, seen):
                return False
    return True
