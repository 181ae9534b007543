"""Where instances of a linted class are made: only once per process, or over and over at runtime.

A cache keyed by ``self`` (LL203) or a per-instance container costs memory in proportion to the
number of instances. A class the project only ever instantiates at module level, on ``app.state``,
in an ``@lru_cache`` factory, or not by name at all (an actor or a model class handed to a
framework that makes one per process) gives no evidence of many instances; a class constructed
in an ordinary function body (per request, per item, per message) does.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Set

from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.state import _MEMO


def has_runtime_instances(project: ProjectFacts, cls: str) -> bool:
    """Is ``cls``, or any linted subclass of it, constructed in an ordinary function body?"""
    made = project.constructed_at_runtime
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


def _subclasses(project: ProjectFacts) -> Dict[str, FrozenSet[str]]:
    def compute(p: ProjectFacts):
        children: Dict[str, Set[str]] = {}
        for module, m in p.modules.items():
            for name, d in m.definitions.items():
                if d.kind == "class":
                    for base in d.bases:
                        children.setdefault(p.canonical(base), set()).add(p.canonical(f"{module}.{name}"))
        return {k: frozenset(v) for k, v in children.items()}
    return _MEMO.get(project, "subclasses", compute)
