"""Where instances of a linted class are made: only once per process, or over and over at runtime.

A cache keyed by ``self`` (LL203) or a per-instance container costs memory in proportion to the
number of instances. A class the project only ever instantiates at module level, on ``app.state``,
in an ``@lru_cache`` factory, in the ``__init__`` of a class made only so, or not by name at all (an actor or a model class handed to a
framework that makes one per process) gives no evidence of many instances; a class constructed
in an ordinary function body (per request, per item, per message) does.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import is_test_module_name
from leaklint.semantics.state import (_MEMO, instantiated_at_module_level, made_by_cached_factories,
                                      made_in_app_factories)


def has_runtime_instances(project: ProjectFacts, cls: str, per_request: bool = False) -> bool:
    """Is ``cls``, or any linted subclass of it, constructed in an ordinary function body (with
    ``per_request``: in one that runs per request, or as a ``Depends(Cls)`` dependency)?"""
    made = constructed_per_request(project) if per_request else project.constructed_at_runtime
    children = _subclasses(project)
    seen, stack = set(), [project.canonical(cls)]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in made:
            return True
        stack.extend(children.get(current, ()))
    return False


def subclass_map(project: ProjectFacts) -> Dict[str, FrozenSet[str]]:
    """Linted class -> its direct linted subclasses (canonical names), computed afresh."""
    children: Dict[str, Set[str]] = {}
    for module, m in project.modules.items():
        for name, d in m.definitions.items():
            if d.kind == "class":
                for base in d.bases:
                    children.setdefault(project.canonical(base), set()).add(project.canonical(f"{module}.{name}"))
    return {k: frozenset(v) for k, v in children.items()}


def _subclasses(project: ProjectFacts) -> Dict[str, FrozenSet[str]]:
    return _MEMO.get(project, "subclasses", subclass_map)


def descendants(project: ProjectFacts, cls: str) -> List[str]:
    """Linted subclasses of ``cls`` at any depth, sorted."""
    def compute(p: ProjectFacts) -> Dict[str, List[str]]:
        return {}
    memo = _MEMO.get(project, "descendants", compute)
    if cls not in memo:
        children = _subclasses(project)
        found, stack = set(), list(children.get(project.canonical(cls), ()))
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(children.get(current, ()))
        memo[cls] = sorted(found)
    return memo[cls]


def ancestors(project: ProjectFacts, cls: str) -> List[str]:
    """Linted bases of ``cls`` at any depth, nearest first."""
    found: List[str] = []
    todo = [project.canonical(cls)]
    while todo:
        definition = project.definition(todo.pop(0))
        if definition is None or definition.kind != "class":
            continue
        for base in map(project.canonical, definition.bases):
            if base not in found and _is_class(project, base):
                found.append(base)
                todo.append(base)
    return found


def attribute_classes(project: ProjectFacts, cls: str, attr: str) -> List[str]:
    """The linted classes ``self.<attr>`` may hold in a method of ``cls``: what any method of
    ``cls``, of its bases or of its subclasses (``self`` may be any of them) assigns to it
    (``self.model = Model(...)``, or a factory's product)."""
    def index(p: ProjectFacts) -> Dict[tuple, FrozenSet[str]]:
        held: Dict[tuple, Set[str]] = {}
        for record in p.functions.values():
            if record.in_class and record.ownership.attribute_values:
                owner = p.canonical(f"{record.module}.{record.in_class}")
                for name, callees in record.ownership.attribute_values.items():
                    made = {c for callee in callees for c in p.classes_made_by(callee) if _is_class(p, c)}
                    if made:
                        held.setdefault((owner, name), set()).update(made)
        return {k: frozenset(v) for k, v in held.items()}

    held = _MEMO.get(project, "attribute-classes", index)
    own = project.canonical(cls)
    family = [own, *ancestors(project, own), *descendants(project, own)]
    return sorted({c for member in family for c in held.get((member, attr), ())})


def constructed_without(project: ProjectFacts, cls: str, index: int, keyword: str) -> bool:
    """Some per-request function constructs ``cls`` leaving out ``__init__``'s parameter ``index``
    (``self`` is 0): neither that many positional arguments nor the keyword."""
    for function in project.per_request:
        record = project.functions.get(function)
        if record is None:
            continue
        for callee, (positional, keywords) in record.ownership.passes.items():
            if project.canonical(callee) == cls and positional < index and keyword not in keywords \
                    and "*" not in keywords:
                return True
    return False


def constructed_per_request(project: ProjectFacts) -> FrozenSet[str]:
    """Linted classes constructed in a per-request function (``project.per_request``) or used as
    ``Depends(Cls)``: as many instances as requests. An ``@lru_cache`` function is no such place: its
    body runs once per key (``@lru_cache(maxsize=1) def get_auth(): return JWTAuth()`` makes one)."""
    def compute(p: ProjectFacts) -> FrozenSet[str]:
        made = set()
        for function in p.per_request:
            record = p.functions.get(function)
            if record is not None and not record.cached:
                made.update(c for c in map(p.canonical, record.ownership.direct) if _is_class(p, c))
        made.update(d for d in p.dependencies if _is_class(p, d))
        return frozenset(made)
    return _MEMO.get(project, "constructed-per-request", compute)


def _is_class(project: ProjectFacts, name: str) -> bool:
    definition = project.definition(name)
    return definition is not None and definition.kind == "class"


#: methods by which an object releases what it holds (callers that use them are not followed)
RELEASING_METHODS = frozenset({"close", "aclose", "__exit__", "__aexit__", "__del__", "shutdown", "dispose",
                               "cleanup", "stop", "teardown", "disconnect"})
#: bases that add no such method
_PLAIN_BASES = frozenset({"builtins.object", "abc.ABC", "typing.Generic", "typing.Protocol", "pydantic.BaseModel",
                          "enum.Enum"})


def may_release_what_it_holds(project: ProjectFacts, cls: str) -> bool:
    """Does a base of ``cls`` define a release method (``close``, ``__aexit__``, ...)? A base that
    is not a linted class may, unless it is a plain one (``object``, ``BaseModel``). (The class's
    own methods are the caller's to read: a ``close()`` that does not close the client is no release.)"""
    own = project.canonical(cls)
    seen, stack = set(), [own]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current != own and any(f"{current}.{method}" in project.functions for method in RELEASING_METHODS):
            return True
        definition = project.definition(current)
        if definition is None or definition.kind != "class":
            if current not in _PLAIN_BASES and current != project.canonical(cls):
                return True
            continue
        stack.extend(project.canonical(base) for base in definition.bases)
    return False


def process_lifetime(project: ProjectFacts, cls: str, subclasses: bool = True) -> Optional[str]:
    """Why an instance of ``cls`` lives for the whole process, or None: made at module level (also
    through a factory: ``model = AutoModel(...)``), stored on ``app.state``, returned by a cached
    factory, made with the application in its factory, or held in an attribute of such an object
    (``self.model = Model(...)`` in its ``__init__``, the class made nowhere else). A subclass's
    instance counts for the containers its bases' ``__init__`` make (unless ``subclasses`` is off)."""
    lived = _lifetimes(project)
    own = project.canonical(cls)
    family = [own, *(descendants(project, cls) if subclasses else ())]
    for member in family:
        if member in lived:
            if member == own:
                return lived[member]
            # the process-lived one is a sibling of the instances requests make: unless requests use
            # that very instance, which one grows is unknown
            made = _made_per_request(project)
            if any(m in made for m in family if m != member) and not _used_per_request(project, member):
                return None
            return f"{lived[member]} of subclass `{member.rpartition('.')[2]}`"
    return None


def _used_per_request(p: ProjectFacts, cls: str, held: Optional[Tuple[str, str]] = None) -> bool:
    """Does code that runs per request call a method of the process-lived instance itself: of a
    module-level instance of ``cls`` (``settings_store.get(key)``), or, with ``held`` = (holder,
    attribute), of what the holder keeps there (``self.memo.remember(key)`` in a holder's method)?"""
    instances = {f"{module}.{name}" for module, facts in p.modules.items() for name, d in facts.definitions.items()
                 if d.kind == "call" and any(cls in p.classes_made_by(c) for c in d.callee)}
    for name in p.per_request:
        record = p.functions.get(name)
        own = record.ownership if record is not None else None
        if own is None:
            continue
        if any(p.canonical(c).rpartition(".")[0] in instances for c in own.direct | own.run_once):
            return True
        if held is not None and record.in_class and any(attr == held[1] for attr, _ in own.attribute_calls) and \
                held[0] in {p.canonical(f"{record.module}.{record.in_class}"), *ancestors(p, f"{record.module}.{record.in_class}")}:
            return True
    return False


def _made_per_request(project: ProjectFacts) -> FrozenSet[str]:
    """Classes that code running per request constructs, or that FastAPI makes per request (``Depends(Cls)``)."""
    def compute(p: ProjectFacts) -> FrozenSet[str]:
        made = set(p.dependencies)
        for name in p.per_request:
            record = p.functions.get(name)
            if record is not None and record.ownership is not None:
                made.update(c for callee in record.ownership.direct for c in p.classes_made_by(callee))
        return frozenset(made)
    return _MEMO.get(project, "made-per-request", compute)


def _lifetimes(project: ProjectFacts) -> Dict[str, str]:
    def compute(p: ProjectFacts) -> Dict[str, str]:
        lived: Dict[str, str] = {}
        for c in sorted(made_in_app_factories(p)):
            lived[c] = "made with the application, in its factory"
        for c in sorted(made_by_cached_factories(p)):
            lived[c] = "cached factory"
        for c in sorted(q for held in p.app_state.values() for q in held):
            lived[c] = "stored on `app.state`"
        for c in sorted(instantiated_at_module_level(p)):
            lived[c] = "module-level instance"
        sites: Dict[str, Set[str]] = {}  # class -> the functions that construct it
        for name, record in p.functions.items():
            if not is_test_module_name(record.module):
                for callee in record.ownership.direct | record.ownership.run_once:
                    sites.setdefault(p.canonical(callee), set()).add(name)
        changed = True
        while changed:
            changed = False
            for owner in sorted(lived):
                init = p.functions.get(f"{owner}.__init__")
                if init is None:
                    continue
                for attr, callees in sorted(init.ownership.attribute_values.items()):
                    for held in (c for callee in callees for c in p.classes_made_by(callee)):
                        if held in lived or not _is_class(p, held) or \
                                held in p.dependencies and not _used_per_request(p, held, (owner, attr)):
                            continue  # ``Depends(Held)`` makes one per request too, and requests use that one
                        makers = sites.get(held, set())
                        if all(m.endswith(".__init__") and m[:-len(".__init__")] in lived for m in makers):
                            lived[held] = f"held by `{owner.rpartition('.')[2]}.{attr}`, {lived[owner]}"
                            changed = True
        return lived
    return _MEMO.get(project, "lifetimes", compute)
