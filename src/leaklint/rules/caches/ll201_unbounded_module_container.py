"""LL201 unbounded-module-container: a module-level container that per-request code adds to and nothing removes from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Set, Tuple

import libcst as cst

from leaklint.rule import Rule
from leaklint.rules.caches._common import _qualified_head
from leaklint.rules.caches import ll201_call_site_examples as call_sites
from leaklint.rules.caches import ll201_class_constant_key_examples as class_constant_keys
from leaklint.rules.caches import ll201_fixed_key_examples as fixed_keys
from leaklint.rules.caches import ll201_gated_examples as gated
from leaklint.rules.caches import ll201_late_removal_examples as late_removal
from leaklint.rules.caches.ll201_unbounded_module_container_examples import INVALID, VALID
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow, state
from leaklint.semantics.callgraph import request_path

BOUNDED_SUGGESTION = {
    "list": "a `collections.deque(maxlen=...)`",
    "deque": "a `collections.deque(maxlen=...)`",
}
DEFAULT_SUGGESTION = "a bounded cache (`cachetools.TTLCache` / `LRUCache`, `functools.lru_cache(maxsize=...)`)"


@dataclass
class _Growth:
    node: cst.CSTNode
    #: enclosing functions, outermost first, with their dotted paths
    functions: Tuple[cst.FunctionDef, ...]
    paths: Tuple[str, ...]
    per_request: bool


@dataclass
class _Container:
    kind: str
    grows: List[_Growth] = field(default_factory=list)
    #: functions (by identity) that also read the container: ``if k in X`` / ``X.get(k)`` / ``X[k]``
    readers: Set[int] = field(default_factory=set)
    evicted: bool = False
    escaped: bool = False
    #: functions that remove entries only after a ``yield`` (not in ``finally``): on the happy path only
    late_removals: List[str] = field(default_factory=list)
    #: removals after a ``yield``, with their generator, until every growth of the module is seen
    late_candidates: List[Tuple[cst.CSTNode, cst.FunctionDef]] = field(default_factory=list)


class UnboundedModuleContainer(Rule):
    """## What it does
    Finds a module-level container (`dict`, `list`, `set`, `defaultdict`, `OrderedDict`, `Counter`,
    a `deque` without `maxlen`) that code running per call adds to (`X[k] = v`, `append`,
    `add`, `update`, `setdefault`, `+=`, ...) while nothing in the module ever removes from it:
    no `pop`/`popitem`/`del`/`clear`/`remove`/`discard`, no reassignment, no `len(X)` size check.

    A growth site is reported when it runs per request: in a route, dependency or middleware, or
    a function of the same module they call. Stores under a constant key (`X["config"] = v`) are
    bounded and not reported. A removal that a generator makes only after a `yield`, outside
    `finally`, does not count: a client that stops reading the stream skips it.

    ## Why is this bad?
    A module-level container lives as long as the worker process. Filling it from request data
    (user ids, URLs, tokens) adds an entry per distinct value, forever: the worker's memory grows
    until it is killed.

    ## Example
    ```python
    _users = {}

    @app.get("/users/{user_id}")
    def get_user(user_id: int):
        if user_id not in _users:
            _users[user_id] = load_user(user_id)
        return _users[user_id]
    ```

    Use instead:
    ```python
    from cachetools import TTLCache

    _users = TTLCache(maxsize=1024, ttl=300)
    ```
    or `collections.deque(maxlen=...)` for a history list.

    ## Known problems
    Only growth reached per request (through calls in any linted module) is reported, so registries
    filled while code is imported (decorators, module-level calls, `__init_subclass__`) are never
    reported. Keys from a bounded domain are not growth: literals, parameters typed `Literal[...]`,
    `bool` or an `Enum`, parameters that every caller in the project fills with a literal or
    configuration (`settings.x`, a module constant, or a value built from them: an f-string, a
    local, a choice between two, what an argument-less getter of the project returns, such as
    `f"{get_config().data_dir}/x.yaml"`), and one entry per tenant-level entity
    (`X[organization_id] = v`, `X[workspace_id] += 1`: keys named for an organisation, tenant,
    workspace, team, account, company or namespace, the entry replaced rather than appended to), and
    a class attribute of an annotated parameter (`X[job.kind] = job` with `job: Job`) that `Job` and
    each subclass bind in their bodies (`kind = "export"`), that no function assigns on an object and,
    where it is a dataclass field, that no construction passes (one key per class; a model class of
    a library such as pydantic does not count: request bodies fill its fields). A `setattr` of a
    computed name on anything but `self`, a construction through a local alias of the class
    (`make = ExportJob; make(kind=v)`) and a class made by `type()` are not followed (copies with
    `dataclasses.replace`, `cls(kind=v)` in a classmethod and writes through `vars(job)` or
    `job.__dict__` are). A key bounded by other configuration (a model name checked against the configured list) is still
    reported. A container imported by another linted module (a test does not count: it inspects or
    empties it between tests), passed to a function, returned or aliased is assumed to be managed
    elsewhere. Growth only inside `if DEBUG:` (a flag named for debugging) is off in a default
    deployment and not reported. Uses through `import module; module.X` in other modules are not seen.
    """

    code = "LL201"
    name = "unbounded-module-container"
    message = "Module-level {kind} `{var}` grows {when} in `{func}`{via} and nothing removes entries: use {suggestion}"
    family = "caches"
    LATE_REMOVAL = ("Module-level {kind} `{var}` gets entries {when} in `{func}`{via}, and `{remover}` removes them "
                    "only after a `yield`: a client that stops reading a stream, or an error raised there (in a "
                    "`with` block or a request), ends the generator at it and the entry stays: remove it in a `finally`")

    valid = VALID + call_sites.VALID + gated.VALID + fixed_keys.VALID + late_removal.LATE_REMOVAL_VALID + \
        class_constant_keys.VALID
    invalid = INVALID + call_sites.INVALID + gated.INVALID + fixed_keys.INVALID + late_removal.LATE_REMOVAL_INVALID + \
        class_constant_keys.INVALID

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        # growth is reported in per-request code, and in functions that accumulate into a module list
        # they declare ``global`` (see leave_Module)
        declared = set().union(*(f.declares_global for f in summary.functions.values()))
        grown = summary.grown_in_functions | declared
        return bool(grown.intersection(state.module_containers(summary))) and (
            bool(declared) or web.has_per_request_code(summary, project))

    def visit_Module(self, node: cst.Module) -> None:
        self.containers: Dict[str, _Container] = {
            name: _Container(kind) for name, kind in state.module_containers(self.ctx.summary).items()}
        self.prefix = self.ctx.summary.module + "."
        #: qualified names used as decorators / called at module level (import-time code)
        self.import_time: Set[str] = set()
        imported = state.imported_elsewhere(self.ctx.project)
        for name, container in self.containers.items():
            if self.prefix + name in imported:
                container.escaped = True

    def visit_Assign(self, node: cst.Assign) -> None:
        if self.ctx.in_module_scope() and state.bounded_deque(self.ctx, node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value in self.containers:
                    del self.containers[target.target.value]

    def visit_Decorator(self, node: cst.Decorator) -> None:
        self.import_time |= _qualified_head(self.ctx, node.decorator)

    def visit_Call(self, node: cst.Call) -> None:
        if not any(isinstance(n, cst.FunctionDef) for n in self.ctx.stack):
            self.import_time |= self.ctx.qualify(node.func)

    def visit_Name(self, node: cst.Name) -> None:
        container = self.containers.get(node.value)
        if container is None or container.escaped or container.evicted:
            return
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return
        if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias)) or (
                isinstance(parent, cst.Arg) and parent.keyword is node):
            return
        if self.ctx.qualify(node) != {self.prefix + node.value}:
            return
        functions = tuple(n for n in self.ctx.stack if isinstance(n, cst.FunctionDef))
        use = state.classify_use(self.ctx, node, self.ctx.parent)
        if not functions:
            if use.kind == "evict" and not isinstance(use.node, (cst.AssignTarget, cst.AnnAssign)):
                container.evicted = True
            elif use.kind == "escape" and not isinstance(use.node, (cst.AssignTarget, cst.AnnAssign, cst.Assign)):
                container.escaped = True
            return
        if use.kind == "evict" and flow.after_a_yield(node, self.ctx.parent, functions[-1]):
            container.late_candidates.append((node, functions[-1]))  # judged once every growth is seen
        elif use.kind == "evict":
            container.evicted = True
        elif use.kind == "escape":
            container.escaped = True
        elif use.kind == "grow":
            if flow.under_debug_switch(self.ctx, node):
                return
            per_request = any(web.runs_per_request(self.ctx, f) for f in functions)
            paths = tuple(self.ctx.function_path(f) for f in functions)
            container.grows.append(_Growth(use.node, functions, paths, per_request))
        else:
            container.readers.add(id(functions[-1]))

    def leave_Module(self, original_node: cst.Module) -> None:
        for name, container in self.containers.items():
            for removal, fn in container.late_candidates:
                made_here = [g.node for g in container.grows if g.functions[-1] is fn]
                if flow.late_for(removal, made_here, flow.index_of(self.ctx, fn).parent.get, fn):
                    container.late_removals.append(fn.name.value)
                else:
                    container.evicted = True
            if container.evicted or container.escaped:
                continue
            # with a late removal, the growth beside it (where the entry is made) is the one to fix
            late = [g for g in container.grows if g.functions[-1].name.value in container.late_removals]
            for growth in late + [g for g in container.grows if g not in late]:
                # code that runs per request; elsewhere only a list a function declares `global` and
                # appends to (an accumulator: each call adds, nothing takes away). Memo caches outside
                # per-request code are almost always keyed by configuration, types or code objects
                # (bounded by the code base, not by traffic).
                accumulates = container.kind in ("list", "deque") and self._declares_global(growth, name)
                if not (growth.per_request or accumulates) or state.constant_key(growth.node) or \
                        state.bounded_key(self.ctx, growth.node, growth.functions[-1],
                                          self.prefix + growth.paths[-1]):
                    continue
                if not growth.per_request and self._import_time(growth.functions[-1], growth.paths[-1]):
                    continue
                suggestion = BOUNDED_SUGGESTION.get(container.kind, DEFAULT_SUGGESTION)
                when = "on every request" if growth.per_request else "on every call"
                message = None if not container.late_removals else self.LATE_REMOVAL.format(
                    kind=container.kind, var=name, func=growth.functions[-1].name.value, when=when,
                    via=self._via(growth), remover=container.late_removals[0])
                self.report(growth.node, message, kind=container.kind, var=name, func=growth.functions[-1].name.value,
                            suggestion=suggestion, when=when, via=self._via(growth))
                break

    def _via(self, growth: _Growth) -> str:
        """`` (GET /items -> `record()`)``: how the growing function runs per request."""
        per_request = self.ctx.project.per_request
        path = next((self.prefix + p for p in reversed(growth.paths) if self.prefix + p in per_request), None)
        return f" ({request_path(self.ctx.project, path)})" if path else ""

    def _declares_global(self, growth: _Growth, name: str) -> bool:
        facts = self.ctx.summary.functions.get(growth.paths[-1])
        return facts is not None and name in facts.declares_global

    def _import_time(self, fn: cst.FunctionDef, path: str) -> bool:
        return state.is_registration_function(fn) or self.prefix + path in self.import_time
