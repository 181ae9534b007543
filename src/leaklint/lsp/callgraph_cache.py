"""The per-request call graph for the editor: roots kept per module, the walk redone on each change.

``semantics.callgraph.build`` asks every function of the project for its FastAPI roles (routes,
dependencies, middleware), about half of its time. Those roles depend on the module itself and on
project-wide sets (dependencies, endpoints, lifespans, dependency factories) and bindings; while
these stay the same, only the changed module's roots are worked out again. The walk from the roots
uses ``callgraph``'s own edges, so the result is the one ``callgraph.build`` gives.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Set, Tuple

from leaklint.semantics import callgraph
from leaklint.semantics.summary import FunctionFacts, ModuleSummary


class CallGraph:
    def __init__(self, project, summaries: Iterable[ModuleSummary]) -> None:
        self.project = project
        self.roots: Dict[str, Dict[str, str]] = {}
        self.facts: Dict[str, Dict[str, FunctionFacts]] = {}
        self.summaries: Dict[str, ModuleSummary] = {}
        #: function -> the functions it calls (``callgraph``'s edges), kept while the names they resolve
        #: through stay the same
        self.edges: Dict[str, Tuple[str, ...]] = {}
        for summary in summaries:
            self._add(summary)

    def _add(self, summary: ModuleSummary) -> None:
        """Every file has its entry, unreadable ones empty: assigning to a key a dict already holds keeps
        its place, so modules stay in the order of the full build (roots are walked in that order)."""
        key = summary.path
        self.summaries[key] = summary
        readable = summary.syntax_error is None
        self.facts[key] = {f"{summary.module}.{path}": facts for path, facts in summary.functions.items()} \
            if readable else {}
        self.roots[key] = self._roots_of(summary) if readable else {}

    def _roots_of(self, summary: ModuleSummary) -> Dict[str, str]:
        return callgraph.roots_of(self.project, summary)

    def replace_module(self, path: str, new: Optional[ModuleSummary], bindings: Set[str],
                       sets_changed: bool) -> None:
        """The file at ``path`` changed (``new``) or is gone (None). ``bindings``: its module-level names
        that changed: the roots of the modules importing one of them (by its name: re-exports keep it)
        and the edges of calls naming one are worked out again. ``sets_changed``: project-wide
        dependencies, endpoints or lifespans changed, so every module's roots are."""
        before = dict(self.facts.get(path, {}))
        old_functions = set(before)
        if new is None:
            for table in (self.summaries, self.facts, self.roots):
                table.pop(path, None)
        else:
            self._add(new)
        new_functions = set(self.facts.get(path, ()))
        for name in old_functions | new_functions:
            self.edges.pop(name, None)
        came_or_went = {q.rpartition(".")[2] for q in old_functions ^ new_functions} | set(bindings)
        if came_or_went:
            self._forget_edges_naming(came_or_went)
        self._forget_edges_reading(before, self.facts.get(path, {}))
        if sets_changed or bindings:
            ends = tuple("." + n for n in bindings)
            for key, summary in self.summaries.items():
                if summary.syntax_error is None and key != path and (
                        sets_changed or any(q.endswith(ends) for q in summary.imported)):
                    self.roots[key] = self._roots_of(summary)

    def _forget_edges_naming(self, names: Set[str]) -> None:
        """Drop the cached edges of functions whose calls name one of ``names`` (last dotted part)."""
        ends = tuple("." + n for n in names)
        facts_of = {q: f for table in self.facts.values() for q, f in table.items()}
        for qualified in list(self.edges):
            facts = facts_of.get(qualified)
            record = self.project.functions.get(qualified)
            mentioned = set(facts.called) | set(facts.calls) if facts is not None else set()
            if record is not None and record.ownership is not None:
                own = record.ownership
                mentioned |= {n for group in own.callbacks for n in group} | own.self_calls | own.nested_calls
                mentioned |= {method for _, method in own.instance_calls}
            if facts is None or any(m in names or m.endswith(ends) for m in mentioned):
                self.edges.pop(qualified, None)

    def _forget_edges_reading(self, before: Dict[str, FunctionFacts], after: Dict[str, FunctionFacts]) -> None:
        """Drop the cached edges that read facts of the edited functions: ``self.voice.say()`` reads what
        methods assign to ``self.voice``, and ``engine.speak()`` on ``engine = load()`` what ``load`` returns."""
        def own(facts: Optional[FunctionFacts]):
            return facts.ownership if facts is not None else None

        attrs: Set[str] = set()
        returns_changed = False
        for name in set(before) | set(after):
            old, new = own(before.get(name)), own(after.get(name))
            old_values = old.attribute_values if old is not None else {}
            new_values = new.attribute_values if new is not None else {}
            if old_values != new_values:
                attrs |= set(old_values) | set(new_values)
            returns_changed = returns_changed or (old.returns if old else []) != (new.returns if new else [])
        if not attrs and not returns_changed:
            return
        project = self.project
        facts_of = {q: f for table in self.facts.values() for q, f in table.items()}
        for qualified in list(self.edges):
            record = project.functions.get(qualified)
            calls = record.ownership.attribute_calls if record is not None and record.ownership is not None else ()
            facts = facts_of.get(qualified)
            on_products = returns_changed and facts is not None and any(
                (d := project.definition(project.canonical(n).rpartition(".")[0])) is not None and d.kind == "call"
                for n in facts.called)
            if on_products or any(attr in attrs for attr, _ in calls):
                self.edges.pop(qualified, None)

    def reach(self) -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
        """``(reached_from, root_labels)`` as ``callgraph.build`` returns them, with the edges cached."""
        project = self.project
        facts_of: Dict[str, FunctionFacts] = {}
        for key in self.summaries:
            facts_of.update(self.facts[key])

        def cached_edges(current: str, record) -> Tuple[str, ...]:
            targets = self.edges.get(current)
            if targets is None:
                targets = self.edges[current] = tuple(callgraph._edges(project, record, facts_of[current]))
            return targets

        roots = [item for key in self.summaries for item in self.roots[key].items()]
        return callgraph.reach(project, roots, facts_of, cached_edges)
