"""LL4xx: asyncio tasks that are dropped, kept forever, or never cancelled."""

from __future__ import annotations

from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Invalid, Rule, Valid
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow

TASKS_SET = "_background_tasks"
TASKS_SET_STATEMENT = f"{TASKS_SET}: set = set()"

COMPAT_PY = """
from asyncio import create_task, ensure_future
"""


class _TaskRule(Rule):
    family = "tasks"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        if aio.may_use_asyncio(summary):
            return True
        # `from app.compat import create_task` re-exporting asyncio's
        return any(project.canonical(q) in aio.TASK_FACTORIES for q in summary.imported
                   if project.is_project_name(q))


class DanglingTask(_TaskRule):
    """## What it does
    Finds a task created with `asyncio.create_task(...)`, `asyncio.ensure_future(...)` or
    `loop.create_task(...)` (`asyncio.get_running_loop().create_task(...)`, a `loop` bound to
    `get_event_loop()`, ...) whose result nobody keeps: the call is a statement of its own, its
    result is assigned to `_` or to a local that is never read again, or only
    `.add_done_callback(...)` is called on it. Aliases (`from asyncio import create_task as spawn`)
    and re-exports from other linted modules are followed.

    ## Why is this bad?
    The event loop keeps only a *weak* reference to its tasks. A task nobody references can be
    garbage-collected while it is still pending: its work silently stops half-way and asyncio logs
    `Task was destroyed but it is pending!`. Tasks spawned per request without bookkeeping also pile
    up with no way to wait for or cancel them at shutdown.

    ## Example
    ```python
    async def notify(user):
        asyncio.create_task(send_email(user))
    ```

    Use instead (the recipe from the `asyncio.create_task` documentation):
    ```python
    _background_tasks: set = set()

    async def notify(user):
        task = asyncio.create_task(send_email(user))
        _background_tasks.add(task)
        task.add_done_callback(_background_tasks.discard)
    ```
    or own the task: `await` it, return it, pass it to `asyncio.gather`/`asyncio.wait`, or create it
    with `TaskGroup.create_task` inside `async with asyncio.TaskGroup() as tg:`.

    ## Fix safety
    The fix binds the task to a fresh local, adds it to a module-level set `_background_tasks`
    (created once per module, after the imports) and registers `_background_tasks.discard` as a
    done-callback so the set empties as tasks finish. It is **unsafe**: the task now lives until it
    finishes, which is the point, but code that relied on the task being collected (or a task that
    never finishes) now keeps memory. No fix is offered at module level or when the module already
    binds `_background_tasks` to something other than a set.

    ## Known problems
    A loop reached through an attribute (`self.loop.create_task(...)`) is not recognised, and a task
    passed to any call is assumed to be kept by the callee.
    """

    code = "LL401"
    name = "dangling-task"
    message = "Task from `{callee}` is {how}: the loop keeps only a weak reference, so it can vanish mid-flight"
    fix_title = "Keep a strong reference in a module-level set until the task is done"
    fix_availability = FixAvailability.SOMETIMES
    overlaps = "ruff RUF006 (asyncio-dangling-task) reports the statement and unused-binding cases without a fix."

    valid = [
        """
import asyncio

async def main(work):
    await asyncio.create_task(work())
    task = asyncio.ensure_future(work())
    return task
""",
        """
import asyncio

async def main(a, b):
    results = await asyncio.gather(asyncio.create_task(a()), asyncio.create_task(b()))
    done, pending = await asyncio.wait([asyncio.create_task(a())])
    return results
""",
        # the TaskGroup owns its tasks
        """
import asyncio

async def main(work):
    async with asyncio.TaskGroup() as tg:
        tg.create_task(work())
""",
        # stored and cancelled later
        """
import asyncio

async def main(work):
    poller = asyncio.create_task(work())
    try:
        await asyncio.sleep(1)
    finally:
        poller.cancel()
""",
        # the documented recipe
        """
import asyncio

background_tasks = set()

async def spawn(work):
    task = asyncio.create_task(work())
    background_tasks.add(task)
    task.add_done_callback(background_tasks.discard)
""",
        # a global that outlives the function
        """
import asyncio

_refresher = None

async def start(work):
    global _refresher
    _refresher = asyncio.create_task(work())
""",
        # read by a closure
        """
import asyncio

async def start(work):
    task = asyncio.create_task(work())

    def stop():
        task.cancel()

    return stop
""",
        # `ensure_future` of an existing task returns that task, which the set already keeps
        """
import asyncio

_refs = set()

def submit(loop, coro):
    task = loop.create_task(coro)
    _refs.add(task)
    asyncio.ensure_future(task).add_done_callback(lambda _: _refs.remove(task))
    return task
""",
        # local names shadow the imports: not asyncio
        """
from asyncio import create_task

async def main(create_task, work):
    create_task(work())
""",
        """
import asyncio

class Scheduler:
    def create_task(self, job):
        return job

async def main(scheduler: Scheduler, loop, work):
    scheduler.create_task(work())
    loop.create_task(work())
""",
        # a helper in another linted module that keeps its tasks
        Valid("""
from app.tasks import create_task

async def handler(work):
    create_task(work())
""", files={"app/__init__.py": "", "app/tasks.py": """
import asyncio

_tasks = set()

def create_task(coro):
    task = asyncio.create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task
"""}, path="app/views.py"),
    ]
    invalid = [
        Invalid("""
import asyncio


async def notify(send, user):
    asyncio.create_task(send(user))  # fire and forget
    return {"ok": True}
""", line=5, column=5, message="`asyncio.create_task` is discarded", fixed="""
import asyncio

_background_tasks: set = set()


async def notify(send, user):
    task = asyncio.create_task(send(user))  # fire and forget
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    return {"ok": True}
"""),
        Invalid("""
from asyncio import create_task as spawn

async def handler(job, task):
    spawn(job())
""", line=4, message="`spawn`", fixed="""
from asyncio import create_task as spawn

_background_tasks: set = set()

async def handler(job, task):
    task_1 = spawn(job())
    _background_tasks.add(task_1)
    task_1.add_done_callback(_background_tasks.discard)
"""),
        Invalid("""
import asyncio

async def handler(job):
    asyncio.get_running_loop().create_task(job())
""", line=4, message="`loop.create_task`"),
        Invalid("""
import asyncio

def schedule(job):
    loop = asyncio.get_event_loop()
    loop.create_task(job())
""", line=5, message="`loop.create_task`"),
        Invalid("""
import asyncio as aio

async def handler(job):
    _ = aio.ensure_future(job())
""", line=4, message="assigned to `_`"),
        Invalid("""
import asyncio

_background_tasks: set = set()

async def handler(job, log_errors):
    task = asyncio.create_task(job())
    task.add_done_callback(log_errors)
""", line=6, message="assigned to `task` and never read", fixed="""
import asyncio

_background_tasks: set = set()

async def handler(job, log_errors):
    task = asyncio.create_task(job())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    task.add_done_callback(log_errors)
"""),
        Invalid("""
import asyncio

async def handler(job, log_errors):
    asyncio.create_task(job()).add_done_callback(log_errors)
""", line=4, fixed="""
import asyncio

_background_tasks: set = set()

async def handler(job, log_errors):
    task = asyncio.create_task(job())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
    task.add_done_callback(log_errors)
"""),
        # a loop bound at module level
        Invalid("""
import asyncio

loop = asyncio.new_event_loop()

def schedule(job):
    loop.create_task(job())
""", line=6),
        # re-exported through another linted module
        Invalid("""
from app.compat import create_task

async def handler(job):
    if job:
        create_task(job())
""", files={"app/__init__.py": "", "app/compat.py": COMPAT_PY}, path="app/views.py", line=5),
        Invalid("""
import asyncio

async def handler(job, loop: asyncio.AbstractEventLoop):
    for _ in range(3):
        loop.create_task(job())
""", line=5),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not aio.quick_spawn_candidate(node):
            return
        fn = self.ctx.current_function()
        spawn = aio.spawn_of(self.ctx, node, fn)
        if spawn is None:
            return
        drop = aio.dropped(self.ctx, node)
        if drop is None:
            return
        self.report(node, callee=spawn.callee, how=drop.how, fix=self._fix(fn, node, drop))

    # -- fix --------------------------------------------------------------------------------
    def _tasks_set_available(self, index) -> Optional[bool]:
        """True: the set exists; False: it must be created; None: the name is taken by something else."""
        definition = self.ctx.summary.definitions.get(TASKS_SET)
        if TASKS_SET in self.ctx.summary.imports or "set" in self.ctx.summary.definitions:
            return None
        if definition is None:
            return None if index.names(TASKS_SET) else False
        if not aio.is_collection_definition(definition) or definition.literal not in ("set", ""):
            return None
        if definition.kind == "call" and "builtins.set" not in definition.callee:
            return None
        facts = self.ctx.function_facts(index.fn)
        if facts is not None and TASKS_SET in facts.shadowed:
            return None
        return True

    def _fix(self, fn: Optional[cst.FunctionDef], call: cst.Call, drop: aio.Dropped) -> Optional[Fix]:
        if fn is None:
            return None
        index = flow.index_of(self.ctx, fn)
        exists = self._tasks_set_available(index)
        if exists is None:
            return None
        statement = drop.statement
        if len(statement.body) != 1:
            return None
        config = self.ctx.module.config_for_parsing
        lines: List[str] = []
        if drop.name is not None:
            task = drop.name
            first = statement
        else:
            task = aio.fresh_name(index, "task")
            first = cst.parse_statement(f"{task} = {self.ctx.code(call)}", config=config)
            first = first.with_changes(leading_lines=statement.leading_lines,
                                       trailing_whitespace=statement.trailing_whitespace)
        lines.append(f"{TASKS_SET}.add({task})")
        lines.append(f"{task}.add_done_callback({TASKS_SET}.discard)")
        if drop.chained is not None:
            callback = drop.chained.with_changes(func=cst.parse_expression(f"{task}.add_done_callback"))
            lines.append(self.ctx.code(callback))
        new = [first] + [cst.parse_statement(text, config=config) for text in lines]
        return Fix(self.fix_title or "", Applicability.UNSAFE, {statement: cst.FlattenSentinel(new)},
                   module_statements=() if exists else (TASKS_SET_STATEMENT,))
