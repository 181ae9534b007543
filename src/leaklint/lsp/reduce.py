"""The reduce phase kept up to date in the editor: project facts updated for one changed module.

``ProjectFacts.build`` closes the ownership analysis over every function of the project, which
takes seconds on a large workspace (about 8 s for the 52k functions of the benchmark's big corpus).
Typing in one module changes the facts of that module's functions and, through them, of the
functions that read them (callers, parsers of parsers). So the closure here notes, while it runs,
which names each function's facts looked up; an edit drops the facts of the changed module's
functions and of their readers, transitively, and closes only those again. The rest of the
project facts (re-exports, dependencies, endpoints, the per-request call graph) are cheap next to
that and are recomputed from the summaries held in memory; no file is read again.

``tests/lsp/test_incremental_reduce.py`` checks that the result equals ``ProjectFacts.build`` on
the same summaries, field by field.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Dict, Iterable, Optional, Set

from leaklint.semantics import ownership
from leaklint.semantics.project import ModuleFacts, ProjectFacts, constructed_at_runtime
from leaklint.semantics.summary import ModuleSummary

from leaklint.lsp import callgraph_cache


class _RecordingProject:
    """The project as the closure sees it: ``canonical`` memoised, and every name it returns noted as
    read by the function being closed (its facts may change when that name's function changes)."""

    def __init__(self, project: ProjectFacts) -> None:
        self.project = project
        self.memo: Dict[str, str] = {}
        self.current: Optional[str] = None
        self.reads: Dict[str, Set[str]] = {}
        self.readers: Dict[str, Set[str]] = {}

    def note(self, name: str) -> None:
        if self.current is not None:
            self.reads[self.current].add(name)
            self.readers.setdefault(name, set()).add(self.current)

    def canonical(self, qualified: str) -> str:
        found = self.memo.get(qualified)
        if found is None:
            found = self.memo[qualified] = self.project.canonical(qualified)
        self.note(found)
        return found

    def forget(self, function: str) -> None:
        for name in self.reads.pop(function, ()):
            readers = self.readers.get(name)
            if readers is not None:
                readers.discard(function)

    def __getattr__(self, name: str):
        return getattr(self.project, name)


class _TrackedClosure(ownership._Closure):
    """``ownership``'s closure, which records reads and can re-close a subset of the functions."""

    project: _RecordingProject

    def step(self, qualified: str, record: ownership.FunctionRecord) -> bool:
        self.project.current = qualified
        self.project.reads.setdefault(qualified, set())
        try:
            return super().step(qualified, record)
        finally:
            self.project.current = None

    def callee(self, candidates: Iterable[str], record: Optional[ownership.FunctionRecord] = None):
        candidates = tuple(candidates)
        if record is not None and record.in_class:
            for name in candidates:
                if name.startswith("<self>."):
                    self.project.note(f"{record.module}.{record.in_class}.{name[7:]}")
        return super().callee(candidates, record)

    def reclose(self, names: Set[str]) -> None:
        """Drop the facts of ``names`` and close them again, the others' facts held fixed."""
        facts = self.facts
        for name in names:
            for table in (facts.returns, facts.factories, facts.yields, facts.releases, facts.borrows):
                table.pop(name, None)
            facts.parsers.discard(name)
            self.project.forget(name)
        todo = [(q, self.functions[q]) for q in self.functions if q in names]
        for _ in range(len(todo) + 1):
            changed = False
            for qualified, record in todo:
                changed |= self.step(qualified, record)
            if not changed:
                break


def changed_bindings(old: ModuleSummary, new: ModuleSummary, gone: bool) -> Set[str]:
    """Module-level names whose import or binding differs (line numbers left out: they move as one types)."""
    def bindings(summary: ModuleSummary) -> Dict[str, str]:
        if summary.syntax_error is not None:
            return {}
        out = {name: repr(("import", tuple(targets))) for name, targets in summary.imports.items()}
        for name, definition in summary.definitions.items():
            out[name] = repr((out.get(name), dataclasses.replace(definition, lineno=0)))
        return out

    before, after = bindings(old), {} if gone else bindings(new)
    return {name for name in set(before) | set(after) if before.get(name) != after.get(name)}


#: summary fields the reduce phase does not read: the rules' cheap first look, and the functions
#: (``IncrementalProject`` closes those itself)
FIRST_LOOK_FIELDS = ("functions", "called", "called_methods")


def module_level_key(summary: ModuleSummary) -> str:
    """Everything ``ProjectFacts.build`` reads of a summary, without functions and line numbers: while
    it stays the same, an edit leaves the module-level facts as they were."""
    definitions = {name: dataclasses.replace(d, lineno=0) for name, d in summary.definitions.items()}
    light = dataclasses.replace(summary, definitions=definitions, **{
        f: type(getattr(summary, f))() for f in FIRST_LOOK_FIELDS})
    return repr(light)


#: ``ProjectFacts`` fields this module computes itself; ``ProjectFacts.build`` over summaries without
#: functions gives every other one (modules, dependencies, endpoints, lifespans, ...)
OWN_FIELDS = ("functions", "ownership", "per_request", "root_labels", "constructed_at_runtime")


def _without_functions(summary: ModuleSummary) -> ModuleSummary:
    return dataclasses.replace(summary, functions={})


class IncrementalProject:
    """Project facts over ``summaries`` (path -> summary), updated one file at a time."""

    def __init__(self, summaries: Dict[str, ModuleSummary], table) -> None:
        self.table = table
        self.summaries: Dict[str, ModuleSummary] = dict(summaries)
        self._light: Dict[str, ModuleSummary] = {}
        self._build()

    def _module_level(self) -> ProjectFacts:
        """The facts that need no function: ``ProjectFacts.build`` itself, over summaries without functions."""
        light = [self._light.get(path) or self._light.setdefault(path, _without_functions(s))
                 for path, s in self.summaries.items()]
        return ProjectFacts.build(light, self.table)

    @staticmethod
    def _module_level_key(facts: ProjectFacts) -> list:
        return [getattr(facts, f.name) for f in dataclasses.fields(ProjectFacts)
                if f.name not in OWN_FIELDS and f.name != "modules"]

    # -- full build ---------------------------------------------------------------------------

    def _build(self) -> None:
        self._light = {}
        facts = self._module_level()
        facts.functions = {}
        for s in self.summaries.values():
            if s.syntax_error is None:
                facts.functions.update(ownership.records_of(s))
        self.recording = _RecordingProject(facts)
        self.closure = _TrackedClosure(self.recording, facts.functions, facts.table)
        facts.ownership = self.closure.run()
        self.calls = callgraph_cache.CallGraph(facts, self.summaries.values())
        facts.per_request, facts.root_labels = self.calls.reach()
        facts.constructed_at_runtime = constructed_at_runtime(facts, self.summaries.values())
        self.project = facts

    # -- one file changed ----------------------------------------------------------------------

    def replace(self, path: str, summary: Optional[ModuleSummary]) -> None:
        """``summary``: the file's new summary, or None when the file is gone."""
        old = self.summaries.get(path)
        if old is not None and summary is not None and old == summary:
            return  # opened, or saved without a change: nothing to do
        self._light.pop(path, None)
        if summary is None:
            self.summaries.pop(path, None)
        else:
            self.summaries[path] = summary
        ref = summary or old
        if ref is None:
            return
        if (old is not None and summary is not None and old.module != summary.module) or \
                sum(1 for s in self.summaries.values() if s.module == ref.module) > 1:
            self._build()  # two files claim one module name: which one wins is the full build's rule
            return
        empty = ModuleSummary(path, ref.module, ref.package)
        self._update(old or empty, summary or empty, gone=summary is None)

    def _update(self, old: ModuleSummary, new: ModuleSummary, gone: bool) -> None:
        previous = self.project
        if not gone and module_level_key(old) == module_level_key(new):
            facts = self._same_module_level(previous, old, new)
        else:
            facts = self._module_level()
        facts.functions = previous.functions  # the closure's own dict, updated in place below
        facts.ownership = previous.ownership
        self.recording.project = facts
        self.calls.project = facts
        self.project = facts
        changed: Set[str] = set()
        names = changed_bindings(old, new, gone)
        if names:
            changed |= self._renamed(names)
            qualified = tuple(f"{new.module}.{n}" for n in names)
            below = tuple(q + "." for q in qualified)
            changed |= {name for name in self.recording.readers if name in qualified or name.startswith(below)}
        old_records = ownership.records_of(old) if old.syntax_error is None else {}
        new_records = ownership.records_of(new) if new.syntax_error is None and not gone else {}
        for name in old_records:
            facts.functions.pop(name, None)
        facts.functions.update(new_records)
        changed |= set(old_records) | set(new_records)
        self.closure.reclose(self._readers_of(changed))
        sets_changed = self._module_level_key(previous) != self._module_level_key(facts)
        self.calls.replace_module(old.path, None if gone else new, names, sets_changed)
        facts.per_request, facts.root_labels = self.calls.reach()
        facts.constructed_at_runtime = constructed_at_runtime(facts, self.summaries.values())

    def _same_module_level(self, previous: ProjectFacts, old: ModuleSummary, new: ModuleSummary) -> ProjectFacts:
        """The module-level facts stay; the module's entries (and its aliases) get its new bindings,
        whose line numbers moved."""
        facts = copy.copy(previous)
        facts.modules = dict(previous.modules)
        before = previous.modules.get(old.module)
        if before is not None and new.syntax_error is None:
            after = ModuleFacts(new.imports, new.definitions)
            for name, value in previous.modules.items():
                if value is before:
                    facts.modules[name] = after
        return facts

    def _renamed(self, names: Set[str]) -> Set[str]:
        """Names whose re-export chain now ends elsewhere: their old ends (read by the closure) change.
        Only names with a changed binding as one of their parts are looked at (a re-export keeps the
        name unless it renames it with ``as``)."""
        out: Set[str] = set()
        memo = self.recording.memo
        for qualified, before in list(memo.items()):
            if names.isdisjoint(qualified.split(".")) and names.isdisjoint(before.split(".")):
                continue
            after = self.project.canonical(qualified)
            if after != before:
                out.add(before)
                out.add(after)
                memo[qualified] = after
        return out

    def _readers_of(self, changed: Set[str]) -> Set[str]:
        """``changed`` and every function whose facts read one of them, transitively."""
        readers = self.recording.readers
        out: Set[str] = set()
        todo = list(changed)
        while todo:
            name = todo.pop()
            if name in out:
                continue
            out.add(name)
            keys = [name]
            if name.endswith(".__init__"):
                keys.append(name[: -len(".__init__")])  # ``Cls(...)`` reads ``Cls`` and reaches ``Cls.__init__``
            for key in keys:
                todo.extend(r for r in readers.get(key, ()) if r not in out)
        return out
