"""asyncio semantics: which calls spawn a task, and where the resulting task reference goes.

The event loop keeps only weak references to tasks, so whether a task survives depends on who
holds the object ``create_task`` returned. Rules ask "is this call a task spawn?" and "what happens
to its result?"; both answers live here so LL401/LL402/LL403 agree on them.
"""

from __future__ import annotations

import re
from collections import Counter

from dataclasses import dataclass
from typing import List, Optional, Set

import libcst as cst

from leaklint.traversal import children
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex, walk_with_parents
from leaklint.semantics.names import matches
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary

TASK_FACTORIES = frozenset({
    "asyncio.create_task", "asyncio.ensure_future", "asyncio.tasks.create_task", "asyncio.tasks.ensure_future",
})
LOOP_GETTERS = frozenset({
    "asyncio.get_running_loop", "asyncio.get_event_loop", "asyncio.new_event_loop",
    "asyncio.events.get_running_loop", "asyncio.events.get_event_loop", "asyncio.events.new_event_loop",
})
LOOP_TYPES = frozenset({
    "asyncio.AbstractEventLoop", "asyncio.BaseEventLoop", "asyncio.events.AbstractEventLoop",
    "asyncio.base_events.BaseEventLoop",
})
SPAWN_NAMES = frozenset({"create_task", "ensure_future"})
#: methods that remove items from a set/list/dict (a pruned collection does not grow forever)
PRUNE_METHODS = frozenset({"discard", "remove", "pop", "popitem", "clear", "difference_update",
                           "intersection_update", "symmetric_difference_update", "popleft", "pop_last"})
ADD_METHODS = frozenset({"add", "append", "appendleft", "setdefault", "update", "extend", "insert"})
COLLECTION_CALLS = frozenset({"builtins.set", "builtins.list", "builtins.dict", "collections.defaultdict",
                              "collections.OrderedDict"})


def may_use_asyncio(summary: ModuleSummary) -> bool:
    """Cheap look: task spawns need an import of asyncio (module or any of its names)."""
    return summary.imports_from("asyncio")


def may_spawn(summary: ModuleSummary, project: ProjectFacts) -> bool:
    """Cheap look: the module calls a task factory (any alias or re-export) or some ``.create_task``."""
    return "create_task" in summary.called_methods or summary.calls_any(project, TASK_FACTORIES)


def file_may_spawn(ctx) -> bool:
    """Per-file pre-check: a spawn needs ``create_task``/``ensure_future`` in the source, or a name
    imported from a linted module that re-exports one under another name."""
    key = "asyncio-may-spawn"
    if key not in ctx.cache:
        source = ctx.source
        found = b"create_task" in source or b"ensure_future" in source
        if not found:
            project = ctx.project
            found = any(project.canonical(q) in TASK_FACTORIES for q in ctx.summary.imported
                        if project.is_project_name(q))
        ctx.cache[key] = found
    return ctx.cache[key]


@dataclass(frozen=True)
class Spawn:
    call: cst.Call
    callee: str  # what the user wrote, for messages: ``asyncio.create_task``, ``loop.create_task``


def _loop_expression(ctx, expr: cst.BaseExpression, fn: Optional[cst.FunctionDef]) -> bool:
    """Is ``expr`` an event loop: ``asyncio.get_running_loop()``, a name bound only to one, or a
    parameter annotated ``asyncio.AbstractEventLoop``?"""
    if isinstance(expr, cst.Call):
        return matches(ctx.qualify(expr.func), LOOP_GETTERS)
    if not isinstance(expr, cst.Name):
        return False
    name = expr.value
    if fn is not None:
        index = flow.index_of(ctx, fn)
        binders = [index.parent.get(b) if isinstance(b, cst.AssignTarget) else b for b in index.assignments(name)]
        if binders:
            values = [b.value for b in binders if isinstance(b, (cst.Assign, cst.AnnAssign))]
            return len(values) == len(binders) and all(
                isinstance(v, cst.Call) and matches(ctx.qualify(v.func), LOOP_GETTERS) for v in values)
        for param in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params):
            if param.name.value == name:
                return param.annotation is not None and matches(
                    ctx.qualify(param.annotation.annotation), LOOP_TYPES)
    definition = ctx.summary.definitions.get(name)
    qualified = ctx.qualify(expr)
    if definition is not None and qualified == frozenset({f"{ctx.summary.module}.{name}"}):
        return definition.kind == "call" and matches(frozenset(definition.callee), LOOP_GETTERS)
    return False


def spawn_of(ctx, call: cst.Call, fn: Optional[cst.FunctionDef] = None) -> Optional[Spawn]:
    """``call`` creates a task the loop only weakly references (not ``TaskGroup.create_task``)."""
    func = call.func
    if isinstance(func, cst.Attribute):
        attr = func.attr.value
    elif isinstance(func, cst.Name):
        attr = func.value
    else:
        return None
    names = ctx.qualify(func)
    if matches(names, TASK_FACTORIES):
        return Spawn(call, ctx.code(func))
    if isinstance(func, cst.Attribute) and attr == "create_task" and not names & _TASKGROUP_METHODS:
        if _loop_expression(ctx, func.value, fn):
            return Spawn(call, ctx.code(func) if isinstance(func.value, cst.Name) else "loop.create_task")
    return None


_TASKGROUP_METHODS = frozenset({"asyncio.TaskGroup.create_task"})


def quick_spawn_candidate(call: cst.Call) -> bool:
    """Syntactic pre-check before any name resolution."""
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value in SPAWN_NAMES
    return isinstance(func, cst.Name) and func.value not in _NEVER_SPAWNS


#: frequent builtins: skip resolving them on every call
_NEVER_SPAWNS = frozenset({"len", "print", "isinstance", "str", "int", "list", "dict", "set", "tuple", "range",
                           "getattr", "hasattr", "setattr", "super", "type", "sorted", "enumerate", "zip",
                           "min", "max", "any", "all", "repr", "bool", "float", "open", "iter", "next", "map"})


# -- what happens to the task -------------------------------------------------------------------

@dataclass(frozen=True)
class Dropped:
    how: str  # "discarded" | "assigned to `_`" | "assigned to `t` and never read" ...
    statement: Optional[cst.SimpleStatementLine]  # None: part of a one-line suite (no fix)
    name: Optional[str]  # the local it was bound to (unused), if any
    chained: Optional[cst.Call]  # ``create_task(...).add_done_callback(cb)``


def _names_in(node: cst.CSTNode, name: str) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, cst.Name) and n.value == name:
            return True
        stack.extend(children(n))
    return False


def reads_outside_done_callbacks(index: FunctionIndex, name: str) -> List[cst.Name]:
    """Reads of ``name`` other than ``name.add_done_callback(...)`` statements (which keep nothing).

    Uses in nested functions and lambdas count as reads (a closure keeps the task)."""
    out: List[cst.Name] = []
    for load in index.loads(name):
        parent = index.parent.get(load)
        if isinstance(parent, cst.Attribute) and parent.attr.value == "add_done_callback":
            call = index.parent.get(parent)
            if isinstance(call, cst.Call) and isinstance(index.parent.get(call), cst.Expr):
                continue
        out.append(load)
    for kind in (cst.FunctionDef, cst.Lambda, cst.ClassDef):
        for scope in index.all(kind):
            if scope is not index.fn and _names_in(scope, name):
                out.append(cst.Name(name))
    return out


def declared_outside(index: FunctionIndex, name: str) -> bool:
    """``global name`` / ``nonlocal name`` in this function."""
    for kind in (cst.Global, cst.Nonlocal):
        for node in index.all(kind):
            if any(item.name.value == name for item in node.names):
                return True
    return False


def dropped(ctx, call: cst.Call) -> Optional[Dropped]:
    """How the result of ``call`` (a spawn) is thrown away, or None when something keeps it.

    Uses ``ctx.stack``: ``call`` must be the node being visited."""
    parent = ctx.parent(call)
    chained = None
    if isinstance(parent, cst.Attribute) and parent.value is call and parent.attr.value == "add_done_callback":
        outer = ctx.parent(parent)
        if isinstance(outer, cst.Call) and outer.func is parent:
            if not (call.args and isinstance(call.args[0].value, cst.Call)) and \
                    isinstance(call.func, (cst.Name, cst.Attribute)) and _is_ensure_future(ctx, call):
                return None  # `ensure_future(task).add_done_callback(...)`: returns a task kept elsewhere
            chained, parent = outer, ctx.parent(outer)
            node: cst.CSTNode = outer
        else:
            return None
    else:
        node = call
    statement = ctx.parent(parent) if parent is not None else None
    if isinstance(parent, cst.Expr) and parent.value is node:
        # `if x: create_task(...)` on one line is dropped too (the fix then needs its own line)
        line = statement if isinstance(statement, cst.SimpleStatementLine) else None
        return Dropped("discarded", line, None, chained)
    if chained is not None:
        return None
    if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is call:
        if not isinstance(statement, cst.SimpleStatementLine):
            statement = None
        targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
        if len(targets) != 1 or not isinstance(targets[0], cst.Name):
            return None
        name = targets[0].value
        if name == "_":
            return Dropped("assigned to `_`", statement, None, None)
        fn = ctx.current_function()
        if fn is None or any(isinstance(a, cst.Lambda) for a in ctx.ancestors(call)):
            return None
        index = flow.index_of(ctx, fn)
        if declared_outside(index, name) or reads_outside_done_callbacks(index, name):
            return None
        read = any(not index.is_store(n) for n in index.names(name))  # only by ``add_done_callback``
        how = f"assigned to `{name}` and read only to add a done callback" if read else \
            f"assigned to `{name}` and never read"
        return Dropped(how, statement, name, None)
    return None


def _is_ensure_future(ctx, call: cst.Call) -> bool:
    return any(q.endswith(".ensure_future") for q in ctx.qualify(call.func))


def fresh_name(index: FunctionIndex, preferred: str, taken: Set[str] = frozenset()) -> str:
    params = index.fn.params
    used = {n.value for n in index.all(cst.Name)} | set(taken) | {
        p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            used.add(star.name.value)
    candidate, i = preferred, 1
    while candidate in used:
        candidate, i = f"{preferred}_{i}", i + 1
    return candidate


def is_collection_value(ctx, value: Optional[cst.BaseExpression]) -> bool:
    """``[]``, ``set()``, ``{}``, ``dict()``, ``defaultdict(...)``: a plain growing collection."""
    if isinstance(value, (cst.List, cst.Set, cst.Dict)):
        return not value.elements if not isinstance(value, cst.Dict) else True
    if isinstance(value, cst.Call):
        return matches(ctx.qualify(value.func), COLLECTION_CALLS)
    return False


def is_collection_definition(definition) -> bool:
    if definition is None:
        return False
    if definition.kind == "literal":
        return definition.literal in ("list", "set", "dict")
    return definition.kind == "call" and matches(frozenset(definition.callee), COLLECTION_CALLS)


def imported_elsewhere(project: ProjectFacts, qualified: str, own_module: str) -> bool:
    """Does another linted module import ``qualified`` (and so perhaps prune it)?"""
    own = project.modules.get(own_module)
    for facts in project.modules.values():
        if facts is own:  # also under its namespace-folder aliases
            continue
        for candidates in facts.imports.values():
            for q in candidates:
                if q == qualified or qualified.startswith(q + "."):
                    return True
    return False


def spawn_cached(ctx, call: cst.Call, fn: Optional[cst.FunctionDef]) -> Optional[Spawn]:
    """``spawn_of`` memoised per call node, so LL401/LL402 resolve each call once."""
    key = ("asyncio-spawn", id(call))
    if key not in ctx.cache:
        ctx.cache[key] = (call, spawn_of(ctx, call, fn) if quick_spawn_candidate(call) else None)
    cached_call, spawn = ctx.cache[key]
    return spawn if cached_call is call else spawn_of(ctx, call, fn)


def task_name_bound_to_spawn(ctx, fn: Optional[cst.FunctionDef], name: str) -> bool:
    """Every binding of local ``name`` in ``fn`` is a task spawn."""
    if fn is None or not _function_spawns(ctx, fn):
        return False
    index = flow.index_of(ctx, fn)
    binders = [index.parent.get(b) if isinstance(b, cst.AssignTarget) else b for b in index.assignments(name)]
    if not binders:
        return False
    for binder in binders:
        value = binder.value if isinstance(binder, (cst.Assign, cst.AnnAssign)) else None
        if not isinstance(value, cst.Call) or spawn_of(ctx, value, fn) is None:
            return False
    return True


def _function_spawns(ctx, fn: cst.FunctionDef) -> bool:
    """Cheap text check before indexing a function: does its code mention a spawn at all?"""
    key = ("asyncio-function-spawns", id(fn))
    if key not in ctx.cache:
        code = _source_of(ctx, fn)
        ctx.cache[key] = "create_task" in code or "ensure_future" in code or _reexported_spawn_names(ctx, code)
    return ctx.cache[key]


_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)", re.MULTILINE)


def _source_of(ctx, fn: cst.FunctionDef) -> str:
    """``fn``'s lines of the file, by the lines the summary knows it at (generating its code from
    the tree costs as much as a tenth of checking the file); its generated code if they do not match."""
    facts = ctx.function_facts(fn)
    if facts is not None:
        if "source-lines" not in ctx.cache:
            ctx.cache["source-lines"] = re.split(r"\r\n|\r|\n", ctx.source.decode("utf-8", "replace"))
        lines = ctx.cache["source-lines"]
        if "def-names" not in ctx.cache:
            ctx.cache["def-names"] = Counter(m.group(1) for m in _DEF.finditer(ctx.source.decode("utf-8", "replace")))
        name = fn.name.value
        # one ``def`` of that name in the file: the summary's lines are this function's (``@overload``
        # stubs and ``if``/``else`` definitions share a path, and the summary keeps the first)
        if 0 < facts.lineno <= facts.end_lineno <= len(lines) and ctx.cache["def-names"][name] == 1 and \
                (m := _DEF.match(lines[facts.lineno - 1])) is not None and m.group(1) == name:
            return "\n".join(lines[facts.lineno - 1:facts.end_lineno])
    return ctx.code(fn)


def _reexported_spawn_names(ctx, code: str) -> bool:
    """An alias of a task factory (``from asyncio import create_task as spawn``, or re-exported by
    a linted module) is used in ``code``."""
    project = ctx.project
    return any(local in code for local, qs in ctx.summary.imports.items()
               for q in qs if project.canonical(q) in TASK_FACTORIES)


def is_task_value(ctx, value: cst.BaseExpression, fn: Optional[cst.FunctionDef]) -> bool:
    """A spawn call, or a local bound only to spawns."""
    if isinstance(value, cst.Call):
        return spawn_cached(ctx, value, fn) is not None
    if isinstance(value, cst.Name):
        return task_name_bound_to_spawn(ctx, fn, value.value)
    return False


def endless_loop(fn: cst.FunctionDef) -> bool:
    """``while True:`` (or ``while 1:``) with no ``break``/``return`` of its own: runs until cancelled."""
    for node, _ in walk_with_parents(fn.body):
        if isinstance(node, cst.While) and _always_true(node.test) and not _leaves_loop(node):
            return True
    return False


def _always_true(test: cst.BaseExpression) -> bool:
    return (isinstance(test, cst.Name) and test.value == "True") or (isinstance(test, cst.Integer) and test.value != "0")


def _leaves_loop(loop: cst.While) -> bool:
    stack = [loop.body]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.Break, cst.Return)):
            return True
        if isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef, cst.While, cst.For)):
            if isinstance(node, (cst.While, cst.For)):
                stack.extend(_returns_only(node))
            continue
        stack.extend(children(node))
    return False


def _returns_only(loop: cst.CSTNode):
    """In an inner loop only ``return`` leaves the outer loop (``break`` leaves the inner one)."""
    out = []
    for node, _ in walk_with_parents(loop):
        if isinstance(node, cst.Return):
            out.append(node)
    return out
