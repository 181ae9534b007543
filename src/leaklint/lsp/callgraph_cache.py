"""The per-request call graph for the editor: roots kept per module, the walk redone on each change.

``semantics.callgraph.build`` asks every function of the project for its FastAPI roles (routes,
dependencies, middleware), about half of its time. Those roles depend on the module itself and on
project-wide sets (dependencies, endpoints, lifespans, dependency factories) and bindings; while
these stay the same, only the changed module's roots are worked out again. The walk from the roots
uses ``callgraph``'s own edges, so the result is the one ``callgraph.build`` gives.
"""

from __future__ import annotations

from collections import deque
from typing import Dict, Iterable, Optional, Tuple

from leaklint.semantics import callgraph
from leaklint.semantics.fastapi import function_roles
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
        roots: Dict[str, str] = {}
        factories = self.project.dependency_factories
        for path in summary.functions:
            qualified = f"{summary.module}.{path}"
            roles = function_roles(summary, self.project, path)
            factory = next((f for f in factories if qualified.startswith(f + ".")), None)
            if roles.per_request or factory is not None:
                roots[qualified] = callgraph._root_label(roles, path) if roles.per_request else f"dependency `{path}`"
        return roots

    def replace_module(self, path: str, new: Optional[ModuleSummary], bindings_changed: bool,
                       sets_changed: bool) -> None:
        """The file at ``path`` changed (``new``) or is gone (None). ``bindings_changed``: its module-level
        names changed, so the roots of the modules that import from it (or from a package above it) and
        every edge are worked out again; ``sets_changed``: project-wide dependencies, endpoints or
        lifespans changed, so every module's roots are."""
        old = self.summaries.get(path)
        old_functions = set(self.facts.get(path, ()))
        if new is None:
            for table in (self.summaries, self.facts, self.roots):
                table.pop(path, None)
        else:
            self._add(new)
        new_functions = set(self.facts.get(path, ()))
        if bindings_changed or sets_changed or old is None or old_functions != new_functions:
            self.edges.clear()  # a function came or went: calls elsewhere may now reach it, or no longer
        else:
            for name in old_functions:
                self.edges.pop(name, None)
        if sets_changed or bindings_changed:
            module = (new or old).module if (new or old) is not None else ""
            parts = module.split(".")
            above = tuple(".".join(parts[:i]) + "." for i in range(1, len(parts) + 1))
            for key, summary in self.summaries.items():
                if summary.syntax_error is not None:
                    continue
                if sets_changed or key == path or any(q.startswith(above) or q + "." in above
                                                      for q in summary.imported):
                    self.roots[key] = self._roots_of(summary)

    def reach(self) -> Tuple[Dict[str, Optional[str]], Dict[str, str]]:
        """``(reached_from, root_labels)`` as ``callgraph.build`` returns them."""
        project = self.project
        reached: Dict[str, Optional[str]] = {}
        labels: Dict[str, str] = {}
        facts_of: Dict[str, FunctionFacts] = {}
        queue: deque = deque()
        for key in self.summaries:
            facts_of.update(self.facts[key])
            for qualified, label in self.roots[key].items():
                reached[qualified] = None
                labels[qualified] = label
                queue.append(qualified)
        while queue:
            current = queue.popleft()
            record = project.functions.get(current)
            if record is None:
                continue
            targets = self.edges.get(current)
            if targets is None:
                targets = self.edges[current] = tuple(callgraph._edges(project, record, facts_of[current]))
            for target in targets:
                if target not in reached:
                    reached[target] = current
                    queue.append(target)
        return reached, labels
