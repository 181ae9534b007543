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
        old_functions = set(self.facts.get(path, {}))
        old_shape = _object_shape(self.summaries.get(path))
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
        if _object_shape(new) != old_shape:
            self._forget_edges_on_objects()
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

    def _forget_edges_on_objects(self) -> None:
        """Drop the cached edges of calls on objects (``self.voice.say()``, ``store.get()`` on a typed
        parameter or a local, ``Handler().handle()``, ``engine.speak()`` on ``engine = load()``): where
        they lead depends on which classes other modules assign, construct, return and derive, which
        any edit can change. Worked out again on each walk; the other edges stay."""
        project = self.project
        facts_of = {q: f for table in self.facts.values() for q, f in table.items()}
        products: Dict[str, bool] = {}

        def on_product(name: str) -> bool:
            owner = project.canonical(name).rpartition(".")[0]
            if owner not in products:
                definition = project.definition(owner) if owner else None
                products[owner] = definition is not None and definition.kind == "call"
            return products[owner]

        for qualified in list(self.edges):
            record = project.functions.get(qualified)
            own = record.ownership if record is not None else None
            facts = facts_of.get(qualified)
            if own is None or facts is None or own.attribute_calls or own.instance_calls or \
                    any(on_product(n) for n in facts.called):
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


def _object_shape(summary: Optional[ModuleSummary]) -> tuple:
    """What of a module the edges of calls on objects read: its classes and instances, and what its
    functions assign to attributes and return. An edit that keeps it keeps those edges."""
    if summary is None or summary.syntax_error is not None:
        return ()
    definitions = tuple(sorted((name, d.kind, d.callee, d.bases) for name, d in summary.definitions.items()))
    functions = []
    for name, facts in sorted(summary.functions.items()):
        own = facts.ownership
        functions.append((name, facts.in_class) if own is None else (
            name, facts.in_class, tuple(sorted(own.attribute_values.items())), repr(own.returns)))
    return definitions, tuple(functions)
