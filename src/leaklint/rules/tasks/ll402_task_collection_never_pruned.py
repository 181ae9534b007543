"""LL402 task-collection-never-pruned: tasks added to a collection that nothing ever removes them from."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.rules.tasks._common import _TaskRule
from leaklint.rules.tasks.ll402_task_collection_never_pruned_examples import INVALID, VALID
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import flow

#: calls that read a collection and keep nothing: handing it to one of these is not pruning
READERS = frozenset({"builtins.len", "builtins.list", "builtins.set", "builtins.tuple", "builtins.sorted",
                     "builtins.print"})
#: awaiting the tasks ends them: a collection its owner gathers is a batch, not a leak
AWAITERS = frozenset({"asyncio.gather", "asyncio.wait", "asyncio.as_completed", "asyncio.tasks.gather",
                      "asyncio.tasks.wait", "asyncio.tasks.as_completed"})


class TaskCollectionNeverPruned(_TaskRule):
    """## What it does
    Finds tasks added to a module-level, class-level or instance `list`/`set`/`dict`
    (`tasks.add(task)`, `self._tasks.append(asyncio.create_task(...))`, `cls._running.add(task)`,
    `tasks[key] = task`) when nothing in the module ever removes them: no
    `discard`/`remove`/`pop`/`clear`/`del`, no done-callback such as
    `add_done_callback(tasks.discard)`, the tasks are never awaited together
    (`asyncio.gather(*tasks)`, `asyncio.wait(tasks)`) or cancelled in a loop
    (`for t in tasks: t.cancel()`), and the collection is never rebound or handed elsewhere.

    ## Why is this bad?
    Keeping a strong reference is half of the recipe; the other half is dropping it when the task is
    done. A collection that is only ever added to keeps every finished task - with its result,
    exception and traceback and everything they reference - for the life of the process, so memory
    grows with every request that spawns one.

    ## Example
    ```python
    _tasks = set()

    async def notify(user):
        _tasks.add(asyncio.create_task(send_email(user)))
    ```

    Use instead:
    ```python
    _tasks = set()

    async def notify(user):
        task = asyncio.create_task(send_email(user))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
    ```

    ## Known problems
    Any `discard`/`remove`/`pop`/`clear` on an attribute of the same name anywhere in the module
    counts as pruning, and a collection another linted module imports is not reported.
    """

    code = "LL402"
    name = "task-collection-never-pruned"
    message = "Task kept in `{collection}`, which nothing ever prunes: {growth}"

    valid = VALID
    invalid = INVALID

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.candidates: List[Tuple[cst.CSTNode, str, str]] = []  # (node, kind, name)
        self.keyed: Set[int] = set()  # ids of the ``X[key] = task`` candidates

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and func.attr.value in ("add", "append", "appendleft", "insert")
                and node.args) or not aio.file_may_spawn(self.ctx):
            return
        value = node.args[-1].value
        fn = self.ctx.current_function()
        if aio.is_task_value(self.ctx, value, fn):
            self._candidate(node, func.value, fn)

    def visit_Assign(self, node: cst.Assign) -> None:
        if len(node.targets) != 1 or not isinstance(node.targets[0].target, cst.Subscript) or \
                not aio.file_may_spawn(self.ctx):
            return
        fn = self.ctx.current_function()
        if aio.is_task_value(self.ctx, node.value, fn):
            self.keyed.add(id(node))
            self._candidate(node, node.targets[0].target.value, fn)

    def _candidate(self, node: cst.CSTNode, collection: cst.BaseExpression, fn) -> None:
        if isinstance(collection, cst.Name):
            names = self.ctx.qualify(collection)
            own = f"{self.ctx.summary.module}.{collection.value}"
            if names != frozenset({own}):
                return
            if not aio.is_collection_definition(self.ctx.summary.definitions.get(collection.value)):
                return
            if aio.imported_elsewhere(self.ctx.project, own, self.ctx.summary.module):
                return
            self.candidates.append((node, "global", collection.value))
        elif isinstance(collection, cst.Attribute) and isinstance(collection.value, cst.Name) and fn is not None \
                and self.ctx.enclosing_class(fn) is not None:
            params = fn.params.params
            owner = collection.value.value
            if (params and params[0].name.value == owner) or owner == self.ctx.enclosing_class(fn).name.value:
                self.candidates.append((node, "attr", collection.attr.value))  # self.x, cls.x, Class.x

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.candidates:
            return
        uses = _collection_uses(self.ctx, original_node)
        for node, kind, name in self.candidates:
            key = (kind, name)
            if key in uses.pruned:
                continue
            if kind == "attr" and not uses.attr_is_collection(name):
                continue
            shown = name if kind == "global" else f"self.{name}"
            # ``X[key] = task`` replaces the entry of a key: it grows with the keys, done tasks included
            growth = "it keeps one task for every key ever used, finished or not" if id(node) in self.keyed \
                else "it grows with every task"
            self.report(node, collection=shown, growth=growth)


class _Uses:
    def __init__(self) -> None:
        self.pruned: Set[Tuple[str, str]] = set()
        self.attr_values: Dict[str, List[bool]] = {}

    def attr_is_collection(self, name: str) -> bool:
        values = self.attr_values.get(name, [])
        return len(values) == 1 and values[0]


def _key(expr: cst.CSTNode) -> Optional[Tuple[str, str]]:
    if isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute) and not expr.args \
            and expr.func.attr.value in ("values", "keys", "items"):
        expr = expr.func.value  # ``gather(*tasks.values())`` awaits the collection itself
    if isinstance(expr, cst.Name):
        return ("global", expr.value)
    if isinstance(expr, cst.Attribute):
        return ("attr", expr.attr.value)
    return None


def _collection_uses(ctx, module: cst.Module) -> _Uses:
    """One walk of the module: which collections are pruned, rebound or handed elsewhere."""
    uses = _Uses()
    for node, parent in flow.walk_with_parents(module):
        if isinstance(node, cst.Attribute) and node.attr.value in aio.PRUNE_METHODS:
            key = _key(node.value)
            if key:
                uses.pruned.add(key)
        elif isinstance(node, cst.Del):
            for target, _ in flow.walk_with_parents(node.target):
                if isinstance(target, cst.Subscript):
                    key = _key(target.value)
                    if key:
                        uses.pruned.add(key)
        elif isinstance(node, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
            targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
            for target in targets:
                key = _key(target)
                if key is None:
                    continue
                if isinstance(node, cst.AugAssign):
                    uses.pruned.add(key)
                elif key[0] == "attr" and node.value is not None:
                    uses.attr_values.setdefault(key[1], []).append(aio.is_collection_value(ctx, node.value))
            if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
                key = _key(node.value)
                if key:
                    uses.pruned.add(key)  # aliased: `tasks = self._tasks`
        elif isinstance(node, cst.Global):
            for item in node.names:
                uses.pruned.add(("global", item.name.value))  # rebound in a function
        elif isinstance(node, (cst.Return, cst.Yield)) and node.value is not None:
            key = _key(node.value)
            if key:
                uses.pruned.add(key)
        elif isinstance(node, cst.Call):
            callee = ctx.qualify(node.func)
            if callee & READERS:
                continue
            awaited = bool(callee & AWAITERS)
            for arg in node.args:
                if arg.star and not awaited:
                    continue
                key = _key(arg.value)
                if key:
                    uses.pruned.add(key)  # handed to someone who may prune it, or awaited: ended
        elif isinstance(node, cst.For):
            key = _key(node.iter)
            if key and isinstance(node.target, cst.Name) and flow.block_calls(node.body, node.target.value, ("cancel",)):
                uses.pruned.add(key)  # ``for t in tasks: t.cancel()``: stopped at shutdown
        elif isinstance(node, cst.ClassDef):
            for stmt in node.body.body:
                small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                    for target in targets:
                        if isinstance(target, cst.Name):  # a class-level ``_tasks = set()``
                            uses.attr_values.setdefault(target.value, []).append(
                                aio.is_collection_value(ctx, small.value))
    return uses
