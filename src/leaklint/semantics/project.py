"""Reduce phase: facts about the whole linted project, built from every module's summary.

This is how a name imported from another linted module (``from app.db import SessionLocal``,
a dependency defined in ``deps.py`` and used in ``routes.py``) resolves to what that module
defines. It holds only plain data so it can be shipped once to each worker process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from leaklint.semantics.summary import Definition, ModuleSummary

if TYPE_CHECKING:  # pragma: no cover
    from leaklint.semantics.ownership import FunctionRecord, OwnershipFacts


@dataclass
class ModuleFacts:
    imports: Dict[str, List[str]]
    definitions: Dict[str, Definition]


@dataclass
class ProjectFacts:
    modules: Dict[str, ModuleFacts] = field(default_factory=dict)
    dependencies: Set[str] = field(default_factory=set)
    endpoints: Set[str] = field(default_factory=set)
    #: endpoints registered by applying a route decorator by hand: qualified -> (verb, path)
    endpoint_routes: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    #: functions passed as ``FastAPI(lifespan=...)`` / ``Starlette(lifespan=...)``
    lifespans: Set[str] = field(default_factory=set)
    #: functions some module-level code calls (``app = cached_app(...)``): canonical names
    called_at_import: Set[str] = field(default_factory=set)
    #: attribute names some function assigns on an object, in any module (``ModuleSummary.stored_attributes``)
    stored_attributes: Set[str] = field(default_factory=set)
    #: functions called in ``Depends(factory(...))``: the closures they define are dependencies
    dependency_factories: Set[str] = field(default_factory=set)
    #: every function of the project (``module.Class.method``) -> what the reduce phase needs of it
    functions: Dict[str, "FunctionRecord"] = field(default_factory=dict)
    #: the ownership summaries, closed over the project (``semantics.ownership``)
    ownership: "OwnershipFacts" = None  # type: ignore[assignment]
    #: per-request functions -> the function they are reached from (None for a route, dependency, middleware)
    per_request: Dict[str, Optional[str]] = field(default_factory=dict)
    root_labels: Dict[str, str] = field(default_factory=dict)
    #: ``app.state.<attr> = Cls(...)`` in any module: attr -> the classes it holds
    app_state: Dict[str, Set[str]] = field(default_factory=dict)
    #: ``keep.functions.cyaml`` -> ``functions.cyaml``: a regular package inside a namespace folder
    #: is importable under both names; definitions are keyed by the one its files were named by
    module_aliases: Dict[str, str] = field(default_factory=dict)
    #: a middleware that rejects request bodies over a size (reads ``content-length``, answers 413):
    #: every upload of the app is bounded before a handler reads it
    body_size_middleware: Optional[str] = None
    #: request paths that a middleware limited to them bounds the body of (``/api/videos/upload``)
    body_size_paths: Set[str] = field(default_factory=set)
    #: the resource kinds in force (built-in and ``[tool.leaklint.resources]``)
    table: object = None
    #: linted classes constructed by name in a function body that is not an ``@lru_cache`` factory,
    #: or used as ``Depends(Cls)``: there may be many instances (``semantics.instances``)
    constructed_at_runtime: Set[str] = field(default_factory=set)

    @classmethod
    def build(cls, summaries: Iterable[ModuleSummary], table=None) -> "ProjectFacts":
        facts = cls()
        summaries = list(summaries)
        for s in summaries:
            if s.syntax_error is None:
                facts.modules[s.module] = ModuleFacts(s.imports, s.definitions)
        has_init: Dict[str, bool] = {}  # folder -> holds ``__init__.py``: asked once per folder
        for s in summaries:
            if s.syntax_error is None:
                for alias in _namespace_names(s, has_init):
                    if alias not in facts.modules:
                        facts.modules[alias] = facts.modules[s.module]
                        facts.module_aliases[alias] = s.module
        for s in summaries:
            for candidates in s.depends:
                facts.dependencies.update(facts.canonical(q) for q in candidates)
            for candidates in s.endpoints:
                facts.endpoints.update(facts.canonical(q) for q in candidates)
            for candidates in s.dependency_factories:
                facts.dependency_factories.update(facts.canonical(q) for q in candidates)
            facts.called_at_import.update(facts.canonical(q) for q in s.called_at_import)
            facts.stored_attributes.update(s.stored_attributes)
            for attr, callees in s.app_state_attrs.items():
                facts.app_state.setdefault(attr, set()).update(facts.canonical(q) for q in callees)
            for definition in s.definitions.values():
                if definition.kind == "call" and "lifespan" in definition.keywords:
                    facts.lifespans.update(facts.canonical(q) for q in definition.keywords["lifespan"])
        _hand_registered_routes(facts, summaries)
        from leaklint.semantics import callgraph, ownership

        readable = [s for s in summaries if s.syntax_error is None]
        for s in readable:
            facts.functions.update(ownership.records_of(s))
        facts.table = table or ownership.DEFAULT_TABLE
        facts.ownership = ownership.close_over(facts, facts.functions, facts.table)
        facts.per_request, facts.root_labels = callgraph.build(facts, readable)
        facts.body_size_middleware = _body_size_middleware(facts, readable)
        facts.constructed_at_runtime = constructed_at_runtime(facts, readable)
        return facts

    def _split(self, qualified: str) -> Optional[Tuple[str, List[str]]]:
        parts = qualified.split(".")
        for i in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:i])
            if module in self.modules:
                return module, parts[i:]
        return None

    def canonical(self, qualified: str) -> str:
        """Follow re-exports (``from .db import SessionLocal`` in ``__init__``) to the definition."""
        seen: Set[str] = set()
        # a chain of re-exports is short; a name that keeps growing (``a = a.b``) is not a re-export
        while qualified not in seen and len(seen) < 32:
            seen.add(qualified)
            split = self._split(qualified)
            if split is None:
                return qualified
            module, rest = split
            if module in self.module_aliases:
                qualified = ".".join([self.module_aliases[module], *rest])
                continue
            mod = self.modules[module]
            head = rest[0]
            if head in mod.imports and len(mod.imports[head]) == 1 and head not in mod.definitions:
                target = mod.imports[head][0]
                submodule = f"{module}.{head}"
                if target == submodule or target.startswith(submodule + "."):
                    # ``from pkg.helper import helper`` in ``pkg/__init__``, ``pkg.helper`` not linted:
                    # the name already points into that submodule; following it would grow forever
                    return qualified
                qualified = ".".join([target, *rest[1:]])
                continue
            definition = mod.definitions.get(head)
            if definition is not None and definition.kind == "alias" and len(definition.callee) == 1:
                qualified = ".".join([definition.callee[0], *rest[1:]])
                continue
            return qualified
        return qualified

    def canonical_all(self, candidates: Iterable[str]) -> FrozenSet[str]:
        return frozenset(self.canonical(q) for q in candidates)

    def definition(self, qualified: str) -> Optional[Definition]:
        """The module-level definition a (canonical) qualified name points at, if linted."""
        split = self._split(qualified)
        if split is None:
            return None
        module, rest = split
        if len(rest) != 1:
            return None
        return self.modules[module].definitions.get(rest[0])

    def functions_of(self, qualified: str) -> List[str]:
        """The project functions a called name reaches: itself, or ``Cls.m`` for ``service.m`` on a
        module-level ``service = Cls()``."""
        canonical = self.canonical(qualified)
        if canonical in self.functions:
            return [canonical]
        owner, _, method = canonical.rpartition(".")
        instance = self.definition(owner) if owner else None
        if instance is None or instance.kind != "call":
            return []
        targets = (self.method_of(cls, method) for callee in instance.callee for cls in self.classes_made_by(callee))
        return sorted({t for t in targets if t is not None})

    def method_of(self, cls: str, method: str) -> Optional[str]:
        """``cls.method`` as ``cls`` or its nearest linted base defines it (None if none does)."""
        return next(iter(self.inherited_methods(cls, method)), None)

    def inherited_methods(self, cls: str, method: str) -> List[str]:
        """``method`` as the first class on each base chain of ``cls`` defines it, nearest first."""
        found: List[str] = []
        seen: Set[str] = set()
        todo = [self.canonical(cls)]
        while todo:
            current = todo.pop(0)
            if current in seen:
                continue
            seen.add(current)
            if f"{current}.{method}" in self.functions:
                found.append(f"{current}.{method}")
                continue
            definition = self.definition(current)
            if definition is not None and definition.kind == "class":
                todo.extend(self.canonical(b) for b in definition.bases)
        return found

    def classes_made_by(self, callee: str) -> List[str]:
        """The classes whose instance a call of ``callee`` makes: the class itself, or the project
        classes a factory function returns a new instance of (``def AutoModel(): return Model()``)."""
        canonical = self.canonical(callee)
        record = self.functions.get(canonical)
        if record is None:
            return [canonical]
        made = (self.canonical(c) for how, names in record.ownership.returns if how == "call" for c in names)
        return sorted({c for c in made if (d := self.definition(c)) is not None and d.kind == "class"})

    def is_project_name(self, qualified: str) -> bool:
        return self._split(qualified) is not None


def _namespace_names(summary: ModuleSummary, has_init: Dict[str, bool], levels: int = 2) -> List[str]:
    """The other names of a module whose top package sits in namespace folders (no ``__init__.py``).

    ``keep/functions/cyaml.py`` with a regular ``functions`` package is named ``functions.cyaml``;
    the project imports it as ``keep.functions.cyaml`` (``keep`` a PEP 420 namespace package).
    """
    import os

    if not summary.path or not summary.module:
        return []

    def package(folder: str) -> bool:
        if folder not in has_init:
            has_init[folder] = os.path.isfile(os.path.join(folder, "__init__.py"))
        return has_init[folder]

    climbs = summary.module.count(".") - (0 if os.path.basename(summary.path) == "__init__.py" else 1)
    folder = os.path.dirname(os.path.abspath(summary.path))
    for _ in range(climbs):
        folder = os.path.dirname(folder)
    if not package(folder):
        return []  # named relative to a linted root already
    names, prefix = [], summary.module
    for _ in range(levels):
        folder = os.path.dirname(folder)
        name = os.path.basename(folder)
        if not name.isidentifier():
            break
        if package(folder):
            # the namespace folder sits in a regular package (``app/tasks/chat/streaming/`` with
            # ``app/tasks/__init__.py`` but no ``chat/__init__.py``): that package's own name
            # leads, and it is the name the project imports the module by
            outer = []
            while package(folder) and os.path.basename(folder).isidentifier():
                folder, part = os.path.split(folder)
                outer.insert(0, part)
            names.append(".".join(outer + [prefix]))
            break
        prefix = f"{name}.{prefix}"
        names.append(prefix)
    return names


def _hand_registered_routes(facts: "ProjectFacts", summaries: List[ModuleSummary]) -> None:
    """``kb_router.post("/upload")(upload_docs)`` on an app or router: ``upload_docs`` is a route."""
    from leaklint.semantics.fastapi import receiver_kind

    for s in summaries:
        for receivers, verb, path, targets in s.route_registrations:
            if any(receiver_kind(facts.canonical(r), s, facts) in ("app", "router") for r in receivers):
                for target in targets:
                    canonical = facts.canonical(target)
                    facts.endpoints.add(canonical)
                    facts.endpoint_routes.setdefault(canonical, (verb, path))


def _body_size_middleware(facts: "ProjectFacts", summaries: List[ModuleSummary]) -> Optional[str]:
    from leaklint.semantics.fastapi import function_roles

    for s in summaries:
        if s.mentions_413:
            for path, f in s.functions.items():
                if f.reads_content_length and function_roles(s, facts, path).middleware:
                    if f.limited_paths:
                        facts.body_size_paths.update(f.limited_paths)
                    else:
                        return f"{s.module}.{path}"
    return None


def constructed_at_runtime(facts: "ProjectFacts", summaries: Iterable[ModuleSummary]) -> Set[str]:
    """``ProjectFacts.constructed_at_runtime``: needs the function records (the editor recomputes it per edit)."""
    def is_class(name: str) -> bool:
        definition = facts.definition(name)
        return definition is not None and definition.kind == "class"

    made = {d for d in facts.dependencies if is_class(d)}
    #: class -> the classes whose ``__init__`` constructs it: made as often as they are
    made_by_owner: Dict[str, Set[str]] = {}
    for s in summaries:
        if s.syntax_error is not None or s.is_test_module:
            continue
        for path, f in s.functions.items():
            record = facts.functions.get(f"{s.module}.{path}")
            if record is not None and record.cached:
                continue
            head = path[:-len(".__init__")] if path.endswith(".__init__") else ""
            owner = facts.canonical(f"{s.module}.{head}") if head and "." not in head else None
            if owner is not None and not is_class(owner):
                owner = None  # a function nested in a function ``head``, named ``__init__``
            for c in map(facts.canonical, f.called):
                if is_class(c):
                    if owner is None:
                        made.add(c)
                    else:
                        made_by_owner.setdefault(c, set()).add(owner)
    # a subclass made at runtime runs its bases' ``__init__`` too (not memoised: the editor
    # recomputes this on facts it keeps updating)
    from leaklint.semantics.instances import subclass_map

    children = subclass_map(facts)

    def has_made_descendant(cls: str, seen: Set[str]) -> bool:
        if cls in made:
            return True
        seen.add(cls)
        return any(has_made_descendant(c, seen) for c in children.get(cls, ()) if c not in seen)

    changed = True
    while changed:
        changed = False
        for c, owners in made_by_owner.items():
            if c not in made and any(has_made_descendant(o, set()) for o in owners):
                made.add(c)
                changed = True
    return made
