"""Where instances of a linted class are made: only once per process, or over and over at runtime.

A cache keyed by ``self`` (LL203) or a per-instance container costs memory in proportion to the
number of instances. A class the project only ever instantiates at module level, on ``app.state``,
in an ``@lru_cache`` factory, in the ``__init__`` of a class made only so, or not by name at all (an actor or a model class handed to a
framework that makes one per process) gives no evidence of many instances; a class constructed
in an ordinary function body (per request, per item, per message) does.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, List, Set

from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.state import _MEMO


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
