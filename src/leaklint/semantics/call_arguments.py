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
        if any(k.startswith("k:") and not all(class_constant(project, *t.split("#")) for t in k[2:].split(","))
               for k in kinds):
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


#: library bases that make no instance fields of class attributes (a pydantic or SQLAlchemy model,
#: a ``NamedTuple`` or a ``msgspec.Struct`` does: request data may fill them)
_FIELDLESS_BASES = frozenset({"builtins.object", "abc.ABC", "typing.Generic", "typing.Protocol"})
_NONE = frozenset({"builtins.None", "None"})


def class_constant(project, cls: str, attr: str) -> bool:
    """``obj.attr`` on an object of ``cls`` (or a subclass) holds one value per class, fixed at
    import: the class or its nearest defining base binds it in its body (``job_type = "export"``),
    every subclass that binds it does so too, no function assigns ``attr`` on any object and, where
    it is an annotated field a constructor may take, no construction passes it (or anything
    positional). As many values as the code base has classes, not as many as requests."""
    if cls in _NONE:
        return True  # ``job: Job | None``: ``None.attr`` raises, it adds no key
    stored = state._MEMO.get(project, "stored-attributes", _stored_attributes)
    if attr in stored or "**" in stored:
        return False
    from leaklint.semantics.instances import ancestors, descendants

    name = project.canonical(cls)
    chain = [name, *ancestors(project, name)]
    family = [name, *descendants(project, name)]
    if any(f"*{c}" in stored for c in {*chain, *family}):
        return False  # ``setattr(self, name, value)`` in a method of the family
    definitions = {c: project.definition(c) for c in {*chain, *family}}
    if any(d is None or d.kind != "class" for d in definitions.values()):
        return False
    if any(project.canonical(b) not in definitions and project.canonical(b) not in _FIELDLESS_BASES
           for d in definitions.values() for b in d.bases):
        return False  # a library base (``BaseModel``, ``Base``) may make it a field or a descriptor
    if not any(attr in definitions[c].class_attributes for c in chain):
        return False  # set on instances only, or by a library base
    bindings = [definitions[c].class_attributes[attr] for c in {*chain, *family} if attr in definitions[c].class_attributes]
    if any(b == "?" for b in bindings):
        return False
    return ":" not in bindings or not _constructed_with(project, family, attr)


def class_constants(project, cls: str) -> List[str]:
    """The class attributes of ``cls`` that ``class_constant`` holds for (the result cache's key)."""
    definition = project.definition(cls)
    if definition is None or definition.kind != "class":
        return []
    return sorted(a for a in definition.class_attributes if class_constant(project, cls, a))


def _stored_attributes(project) -> FrozenSet[str]:
    return frozenset(a if not a.startswith("*") or a == "**" else "*" + project.canonical(a[1:])
                     for a in project.stored_attributes)


def _constructed_with(project, family: List[str], attr: str) -> bool:
    """Does any call in the project construct a class of ``family`` with ``attr`` (or positional
    arguments, or ``**kwargs``), or hand the class itself to other code that may construct it?"""
    handed = state._MEMO.get(project, "handed", _handed)
    if any(c in handed for c in family):
        return True
    members = set(family)
    for record in project.functions.values():
        if record.ownership is None:
            continue
        for callee, (positional, keywords) in record.ownership.passes.items():
            if project.canonical(callee) in members and (positional or attr in keywords or "*" in keywords):
                return True
    return any(d.kind == "call" and members & {project.canonical(c) for c in d.callee}
               for m in project.modules.values() for d in m.definitions.values())
