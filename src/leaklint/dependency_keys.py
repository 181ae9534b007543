"""Which project facts a file's findings depend on, as one digest per file (the result cache's key).

A file's findings are a function of its own bytes, the configuration, and what the rules ask the
project facts about it. Those questions go through the names the file imports and calls, so the
digest of file F covers, for F's module and every project module F's names resolve into
(imports, re-export chains, the class of a module-level instance, class bases):

- the module's content hash (its definitions, imports and functions come from it);
- the facts the reduce phase derives for the module's names from the *whole* project: ownership
  (returns/yields/factories/releases/borrows/parsers), per-request reachability with the request
  path messages print, route/dependency/lifespan roles, which of its functions' parameters get
  only literals from every caller, which other modules import or instantiate its names, its
  classes' base chains, how long their instances live, and which of their class attributes hold
  one value per class.

So an edit of ``db.py`` changes the digest of ``db.py`` and of the modules that import from it,
and nothing else, unless it changes a derived fact of another module (a helper there now returns
a session), which then re-checks that module and its importers too. The set of module names is
global: adding or removing a module re-checks everything.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, Iterable, List, Optional, Sequence, Set

from leaklint.cache import digest
from leaklint.semantics import call_arguments
from leaklint.semantics.instances import process_lifetime
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary

MAX_CHAIN = 64


class _Modules:
    def __init__(self, project: ProjectFacts) -> None:
        self.project = project
        self.names = project.modules
        self.memo: Dict[str, tuple] = {}

    def of(self, qualified: str) -> tuple:
        """Every prefix of ``qualified`` (itself included) that names a project module."""
        found = self.memo.get(qualified)
        if found is None:
            parts = qualified.split(".")
            found = tuple(m for m in (".".join(parts[:i]) for i in range(1, len(parts) + 1)) if m in self.names)
            self.memo[qualified] = found
        return found

    def owner(self, qualified: str) -> Optional[str]:
        """The (longest) project module a name lies in."""
        found = self.of(qualified)
        return found[-1] if found else None


def _derived_facts(project: ProjectFacts, modules: _Modules) -> Dict[str, List[str]]:
    """Per module: the facts the reduce phase derived about its names, as sortable strings."""
    out: Dict[str, List[str]] = defaultdict(list)

    def add(qualified: str, entry: str) -> None:
        record = project.functions.get(qualified)
        module = record.module if record is not None else modules.owner(qualified)
        if module is not None:
            out[module].append(entry)

    ownership = project.ownership
    if ownership is not None:
        for label in ("returns", "factories", "yields"):
            for name, value in getattr(ownership, label).items():
                add(name, f"{label}:{name}:{value[0]}:{value[1]}")
        for label in ("releases", "borrows"):
            for name, value in getattr(ownership, label).items():
                add(name, f"{label}:{name}:{sorted(value)}")
        for name in ownership.parsers:
            add(name, f"parser:{name}")
    for name in project.per_request:
        add(name, f"per-request:{name}:{_chain(project, name)}")
    for name, bounded in call_arguments.bounded_parameters(project).items():
        add(name, f"bounded-by-callers:{name}:{bounded}")
    for label in ("dependencies", "endpoints", "lifespans", "dependency_factories"):
        for name in getattr(project, label):
            add(name, f"{label}:{name}")
    for module, facts in project.modules.items():
        for candidates in facts.imports.values():
            for q in candidates:
                canonical = project.canonical(q)
                for target in {modules.owner(q), modules.owner(canonical)}:
                    if target is not None and target != module:
                        out[target].append(f"imported-by:{module}:{q}:{canonical}")
        for name, definition in facts.definitions.items():
            if definition.kind == "call":
                for callee in definition.callee:
                    owner = modules.owner(project.canonical(callee))
                    if owner is not None and owner != module:
                        out[owner].append(f"instantiated-by:{module}:{name}:{callee}")
            elif definition.kind == "class":
                qualified = f"{module}.{name}"
                # LL204 asks how long its instances live: other modules' ``__init__``s, factories and callers decide
                out[module].append(f"lifetime:{name}:{process_lifetime(project, qualified)}:"
                                   f"{process_lifetime(project, qualified, subclasses=False)}")
                if definition.bases:
                    out[module].append(f"bases:{name}:{_bases(project, qualified)}")
                if definition.class_attributes:
                    constants = call_arguments.class_constants(project, qualified)
                    out[module].append(f"class-constants:{name}:{constants}")
    return out


def _chain(project: ProjectFacts, name: str) -> str:
    """How far a per-request function is from its request root, and that root's label.

    Not the whole path messages print: the call graph's breadth-first walk breaks ties between
    equally short paths in set order, which changes from one process to the next, and keying on
    it would make a third of the results miss on an unchanged tree."""
    chain: List[str] = []
    node: Optional[str] = name
    while node is not None and node not in chain and len(chain) < MAX_CHAIN:
        chain.append(node)
        node = project.per_request.get(node)
    return f"{len(chain)}|{project.root_labels.get(chain[-1], '')}"


def _bases(project: ProjectFacts, qualified: str) -> str:
    """A class's bases through project classes, canonical, to a fixed depth."""
    seen: List[str] = []
    todo = [qualified]
    while todo and len(seen) < MAX_CHAIN:
        current = todo.pop()
        definition = project.definition(current)
        if definition is None or definition.kind != "class":
            continue
        for base in definition.bases:
            canonical = project.canonical(base)
            if canonical not in seen:
                seen.append(canonical)
                todo.append(canonical)
    return ",".join(seen)


def _reached_modules(summary: ModuleSummary, project: ProjectFacts, modules: _Modules) -> Set[str]:
    """The project modules this module's imported and called names resolve into."""
    reached: Set[str] = {summary.module}
    for q in set(summary.imported) | summary.called:
        canonical = project.canonical(q)
        # the module a name lies in, not the packages above it: ``pkg.db.SessionLocal`` is
        # resolved in ``pkg.db`` (``canonical`` has followed any re-export through ``pkg``)
        reached.add(modules.owner(q) or summary.module)
        reached.add(modules.owner(canonical) or summary.module)
        # ``service.get_user()`` on ``service = UserService()``: the class's module too
        parent = canonical.rpartition(".")[0]
        for name in (canonical, parent):
            definition = project.definition(name) if name else None
            if definition is not None:
                for target in definition.callee + definition.bases:
                    reached.add(modules.owner(project.canonical(target)) or summary.module)
    return reached


def dependency_keys(project: ProjectFacts, summaries: Sequence[ModuleSummary],
                    content: Dict[str, str]) -> Dict[str, str]:
    """``path -> digest`` of what the file's findings depend on beyond its own bytes.

    ``content``: path -> content hash of every summarised file.
    """
    modules = _Modules(project)
    by_module: Dict[str, List[str]] = defaultdict(list)
    for s in summaries:
        by_module[s.module].append(content.get(s.path, ""))
    derived = {m: digest(*sorted(entries)) for m, entries in _derived_facts(project, modules).items()}
    everything = digest("modules", *sorted(by_module))
    keys: Dict[str, str] = {}
    for s in summaries:
        parts: List[str] = [everything]
        for module in sorted(_reached_modules(s, project, modules)):
            parts.extend((module, *sorted(by_module.get(module, ())), derived.get(module, "")))
        keys[s.path] = digest(*parts)
    return keys


def config_key(codes: Iterable[str], options: object, resources: object) -> str:
    """What the configuration contributes to a file's result key."""
    import json

    return digest("config", *codes, repr(options), json.dumps(resources, sort_keys=True, default=str))
