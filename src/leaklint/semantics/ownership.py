"""Reduce phase of the ownership analysis: function summaries closed over the whole project.

From every function's map-phase facts (``ownership_map``) and the resource table this computes,
to a fixpoint (helpers call helpers, in any module):

- ``returns``: the function returns a *new* resource of kind K (``return SessionLocal()``, through
  locals, through another summarised function); ``factories``: it returns a factory whose call
  makes one (``return sessionmaker(...)`` or ``return SessionLocal``, so ``get_factory()()`` opens
  a session); ``yields``: a generator that yields a new resource (``next(get_db())`` opens it);
- ``releases``: parameter i is released (``p.close()``, ``with p``, ``closing(p)``, or handed to a
  function that releases it); ``borrows``: parameter i is only used (methods, attributes, handed to
  borrowers): the caller keeps the obligation. A parameter neither released nor borrowed may be
  owned by the callee (stored, returned, handed to code we cannot see): the caller is relieved.

Cached factories (``@lru_cache``) return the same object every call: not a new resource.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, FrozenSet, Iterable, Optional, Set, Tuple

from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics.resources import (BORROWING_CALLS, DEFAULT_TABLE, DOCUMENT_PARSERS, OWNING_CALLS,
                                          ResourceTable)

#: (kind name, is_async)
#: (kind, is_async); is_async is None for a helper that returns either flavour
Acquired = Tuple[str, Optional[bool]]
CACHE_DECORATORS = frozenset({"functools.lru_cache", "functools.cache", "functools.cached_property",
                              "async_lru.alru_cache", "cachetools.cached", "aiocache.cached"})


@dataclass
class FunctionRecord:
    """The slice of a function's map facts the reduce phase and the workers need."""

    module: str
    path: str
    params: Tuple[str, ...]
    is_generator: bool
    cached: bool
    in_class: Optional[str]
    ownership: object  # ownership_map.Ownership


@dataclass
class OwnershipFacts:
    returns: Dict[str, Acquired] = field(default_factory=dict)
    factories: Dict[str, Acquired] = field(default_factory=dict)
    yields: Dict[str, Acquired] = field(default_factory=dict)
    releases: Dict[str, FrozenSet[int]] = field(default_factory=dict)
    borrows: Dict[str, FrozenSet[int]] = field(default_factory=dict)
    #: project functions that hand a parameter to a document parser (``def load(text): return
    #: yaml.safe_load(text)``): a parser too, for rules that exempt parsed documents
    parsers: Set[str] = field(default_factory=set)


def records_of(summary) -> Dict[str, FunctionRecord]:
    out = {}
    for path, facts in summary.functions.items():
        if facts.ownership is None:
            continue
        cached = any(set(candidates) & CACHE_DECORATORS for candidates, _ in facts.decorators)
        out[f"{summary.module}.{path}"] = FunctionRecord(summary.module, path, facts.params, facts.is_generator,
                                                         cached, facts.in_class, facts.ownership)
    return out


class _Closure:
    def __init__(self, project, functions: Dict[str, FunctionRecord], table: ResourceTable) -> None:
        self.project = project
        self.functions = functions
        self.table = table
        self.facts = OwnershipFacts()
        self.release_names = frozenset(m for k in table.kinds for m in k.release) | {"aclose"}
        #: the fixpoint asks for the same names on every round; the project does not change meanwhile.
        #: Only for a plain project: the editor's wrapper memoises itself and notes who read each name.
        from leaklint.semantics.project import ProjectFacts  # project.py imports this module

        self._canonical: Optional[Dict[str, str]] = {} if isinstance(project, ProjectFacts) else None

    def canonical(self, name: str) -> str:
        if self._canonical is None:
            return self.project.canonical(name)
        found = self._canonical.get(name)
        if found is None:
            found = self._canonical[name] = self.project.canonical(name)
        return found

    def callee(self, candidates: Iterable[str], record: Optional[FunctionRecord] = None
               ) -> Tuple[Optional[str], int]:
        """The project function a call reaches and the offset of its arguments (1 for ``self``)."""
        for name in candidates:
            if name.startswith("<self>.") and record is not None and record.in_class:
                qualified = f"{record.module}.{record.in_class}.{name[7:]}"
                return (qualified, 1) if qualified in self.functions else (None, 0)
            canonical = self.canonical(name)
            if canonical in self.functions:
                return canonical, 0
            definition = self.project.definition(canonical)
            if definition is not None and definition.kind == "class" and f"{canonical}.__init__" in self.functions:
                return f"{canonical}.__init__", 1
        return None, 0

    def acquired(self, value, record: FunctionRecord) -> Optional[Acquired]:
        how, names = value
        canonical = frozenset(self.canonical(n) for n in names) | frozenset(names)
        if how == "call":
            found = self.table.acquired_by(canonical)
            if found is not None:
                return found[0].name, found[1]
            factory = sa.session_factory(self.project, canonical)
            if factory is not None:
                return factory
            for name in canonical:
                head, _, attr = name.rpartition(".")
                if attr in sa.CONNECTION_METHODS:
                    engine = sa.is_engine(self.project, frozenset({head}))
                    if engine is not None:
                        return "connection", engine
            target, _ = self.callee(names, record)
            return self.facts.returns.get(target) if target else None
        if how == "call-of-call":
            if canonical & sa.SESSIONMAKERS:
                return "session", bool(canonical & sa.ASYNC_SESSIONMAKERS)
            target, _ = self.callee(names, record)
            return self.facts.factories.get(target) if target else None
        if how == "next":
            target, _ = self.callee(names, record)
            return self.facts.yields.get(target) if target else None
        if how == "temp":  # ``return tmp.name`` of ``NamedTemporaryFile(delete=False)``, ``mkstemp``'s path
            return "temp-path", False
        return None

    def factory(self, value, record: FunctionRecord) -> Optional[Acquired]:
        how, names = value
        canonical = frozenset(self.canonical(n) for n in names) | frozenset(names)
        if how == "ref":
            return sa.session_factory(self.project, canonical)
        if how == "call" and canonical & sa.SESSIONMAKERS:
            return "session", bool(canonical & sa.ASYNC_SESSIONMAKERS)
        return None

    def param_state(self, qualified: str, record: FunctionRecord, index: int) -> Tuple[bool, bool]:
        """(released, only borrowed) for parameter ``index`` under the current facts."""
        released, borrowed = False, True
        for use in record.ownership.param_uses.get(index, ()):
            kind = use[0]
            if kind == "method":
                released = released or use[1] in self.release_names
            elif kind == "with":
                released = True
            elif kind == "attr":
                continue
            elif kind == "pass" and use[2] == "[]":
                borrowed = False  # inside a list or tuple argument: whatever the callee does with it
            elif kind == "pass":
                names, slot = tuple(use[1].split(",")), use[2]
                canonical = frozenset(self.canonical(n) for n in names)
                if canonical & BORROWING_CALLS:
                    continue
                if canonical & OWNING_CALLS:
                    released = True
                    continue
                target, offset = self.callee(names, record)
                if target is None:
                    borrowed = False
                    continue
                position = self.slot_index(self.functions[target], slot, offset)
                if position is None:
                    borrowed = False
                elif position in self.facts.releases.get(target, ()):
                    released = True
                elif position not in self.facts.borrows.get(target, ()):
                    borrowed = False
            else:
                borrowed = False
        return released, borrowed and not released

    @staticmethod
    def slot_index(record: FunctionRecord, slot: str, offset: int) -> Optional[int]:
        if slot.isdigit():
            return int(slot) + offset
        return record.params.index(slot) if slot in record.params else None

    def run(self) -> OwnershipFacts:
        for _ in range(len(self.functions) + 1):
            changed = False
            for qualified, record in self.functions.items():
                changed |= self.step(qualified, record)
            if not changed:
                break
        return self.facts

    def parses(self, record: FunctionRecord) -> bool:
        for uses in record.ownership.param_uses.values():
            for use in uses:
                if use[0] != "pass":
                    continue
                names = frozenset(self.canonical(n) for n in use[1].split(","))
                if names & DOCUMENT_PARSERS or names & self.facts.parsers:
                    return True
        return False

    def step(self, qualified: str, record: FunctionRecord) -> bool:
        changed = False
        own = record.ownership
        if qualified not in self.facts.parsers and self.parses(record):
            self.facts.parsers.add(qualified)
            changed = True
        if not record.cached:
            for table, values, pick in ((self.facts.returns, own.returns, self.acquired),
                                        (self.facts.factories, own.returns, self.factory),
                                        (self.facts.yields, own.yields if record.is_generator else (), self.acquired)):
                if qualified not in table:
                    found_all = [a for a in (pick(v, record) for v in values) if a is not None]
                    if found_all:
                        found = found_all[0]
                        if any(a[0] == found[0] and a[1] != found[1] for a in found_all):
                            found = (found[0], None)  # sync or async by argument: ``get_client(is_async)``
                        table[qualified] = found
                        changed = True
        released: Set[int] = set(self.facts.releases.get(qualified, ()))
        borrowed: Set[int] = set(self.facts.borrows.get(qualified, ()))
        for index in range(len(record.params)):
            rel, bor = self.param_state(qualified, record, index)
            if rel and index not in released:
                released.add(index)
                changed = True
            if bor and index not in borrowed:
                borrowed.add(index)
                changed = True
        self.facts.releases[qualified] = frozenset(released)
        self.facts.borrows[qualified] = frozenset(borrowed - released)
        return changed


def close_over(project, functions: Dict[str, FunctionRecord], table: ResourceTable = DEFAULT_TABLE) -> OwnershipFacts:
    return _Closure(project, functions, table).run()
