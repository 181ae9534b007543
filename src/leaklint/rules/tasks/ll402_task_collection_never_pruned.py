"""LL402 task-collection-never-pruned: tasks added to a collection that nothing ever removes them from."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.rule import Invalid, Valid
from leaklint.rules.tasks._common import COMPAT_PY, _TaskRule
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import flow

GATHERERS = frozenset({"asyncio.gather", "asyncio.wait", "asyncio.as_completed", "asyncio.tasks.gather",
                       "asyncio.tasks.wait", "builtins.len", "builtins.list", "builtins.set", "builtins.tuple",
                       "builtins.sorted", "builtins.print"})


class TaskCollectionNeverPruned(_TaskRule):
    """## What it does
    Finds tasks added to a module-level or instance `list`/`set`/`dict` (`tasks.add(task)`,
    `self._tasks.append(asyncio.create_task(...))`, `tasks[key] = task`) when nothing in the module
    ever removes them: no `discard`/`remove`/`pop`/`clear`/`del`, no done-callback such as
    `add_done_callback(tasks.discard)`, and the collection is never rebound or handed elsewhere.

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
    message = "Task kept in `{collection}`, which nothing ever prunes: it grows with every task"

    valid = [
        """
import asyncio

_tasks = set()

async def notify(send):
    task = asyncio.create_task(send())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
""",
        """
import asyncio

class Worker:
    def __init__(self):
        self._tasks = []

    def spawn(self, coro):
        self._tasks.append(asyncio.create_task(coro))

    async def close(self):
        for task in self._tasks:
            task.cancel()
        self._tasks.clear()
""",
        """
import asyncio

_pending = {}

async def submit(key, coro):
    _pending[key] = asyncio.create_task(coro)

def finished(key):
    del _pending[key]
""",
        # rebound to the unfinished tasks
        """
import asyncio

_tasks = []

async def submit(coro):
    global _tasks
    _tasks = [t for t in _tasks if not t.done()]
    _tasks.append(asyncio.create_task(coro))
""",
        # a WeakSet does not keep tasks alive
        """
import asyncio
import weakref

_tasks = weakref.WeakSet()

async def submit(coro):
    _tasks.add(asyncio.create_task(coro))
""",
        # a local list shadows the module-level set: it dies with the call
        """
import asyncio

tasks = set()

async def run_all(coros):
    tasks = []
    for coro in coros:
        tasks.append(asyncio.create_task(coro))
    return await asyncio.gather(*tasks)
""",
        # pruned by another linted module
        Valid("""
import asyncio

tasks = set()

async def submit(coro):
    tasks.add(asyncio.create_task(coro))
""", files={"app/__init__.py": "", "app/shutdown.py": """
from app.jobs import tasks

def clear():
    tasks.clear()
"""}, path="app/jobs.py"),
    ]
    invalid = [
        Invalid("""
import asyncio

_tasks = set()

async def notify(send, user):
    _tasks.add(asyncio.create_task(send(user)))
""", line=6, column=5, message="`_tasks`"),
        Invalid("""
from asyncio import ensure_future as spawn

class Worker:
    def __init__(self):
        self.jobs = []

    def submit(self, coro):
        task = spawn(coro)
        self.jobs.append(task)
        return task
""", line=9, message="`self.jobs`"),
        Invalid("""
from app.compat import create_task

running = {}

async def submit(key, coro):
    running[key] = create_task(coro)
""", files={"app/__init__.py": "", "app/compat.py": COMPAT_PY}, path="app/jobs.py", line=6),
    ]

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.candidates: List[Tuple[cst.CSTNode, str, str]] = []  # (node, kind, name)

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
            if params and params[0].name.value == collection.value.value:
                self.candidates.append((node, "attr", collection.attr.value))

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
            self.report(node, collection=shown)


class _Uses:
    def __init__(self) -> None:
        self.pruned: Set[Tuple[str, str]] = set()
        self.attr_values: Dict[str, List[bool]] = {}

    def attr_is_collection(self, name: str) -> bool:
        values = self.attr_values.get(name, [])
        return len(values) == 1 and values[0]


def _key(expr: cst.CSTNode) -> Optional[Tuple[str, str]]:
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
            if callee & GATHERERS:
                continue
            for arg in node.args:
                if arg.star:
                    continue
                key = _key(arg.value)
                if key:
                    uses.pruned.add(key)  # handed to someone who may prune it
    return uses
