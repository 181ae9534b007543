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
        return aio.may_spawn(summary, project)


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
        # a one-line suite: reported, no fix
        Invalid("""
import asyncio

async def handler(job, urgent):
    if urgent: asyncio.create_task(job())
""", line=4, column=16),
        Invalid("""
import asyncio

async def handler(job, loop: asyncio.AbstractEventLoop):
    for _ in range(3):
        loop.create_task(job())
""", line=5),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not aio.quick_spawn_candidate(node) or not aio.file_may_spawn(self.ctx):
            return
        fn = self.ctx.current_function()
        spawn = aio.spawn_cached(self.ctx, node, fn)
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
        if statement is None or len(statement.body) != 1:
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


class StartupTaskNeverCancelled(_TaskRule):
    """## What it does
    Finds a background task started at application startup - in a `lifespan` before its `yield`, or
    in an `@app.on_event("startup")` handler - that runs an endless loop (`while True:` with no
    `break` or `return`) and is never cancelled: the task is dropped, or kept in a variable or
    attribute on which nothing in the module calls `.cancel()`.

    ## Why is this bad?
    At shutdown the loop keeps running while the application tears down its database engine, HTTP
    clients and caches underneath it. When the app is started more than once on the same event loop
    (tests, embedded servers), every startup adds one more immortal loop holding its references;
    when the event loop closes, asyncio destroys the pending task mid-iteration and warns
    `Task was destroyed but it is pending!`.

    ## Example
    ```python
    @asynccontextmanager
    async def lifespan(app):
        asyncio.create_task(refresh_prices())
        yield
    ```

    Use instead:
    ```python
    @asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(refresh_prices())
        try:
            yield
        finally:
            task.cancel()
    ```

    ## Known problems
    Only loops in functions of the same module (or methods of the same class) are recognised, and a
    task that is passed anywhere or mentioned again in the module is assumed to be cancelled.
    """

    code = "LL403"
    name = "startup-task-never-cancelled"
    message = "Startup task running `{coro}` loops forever and is never cancelled at shutdown"

    valid = [
        """
import asyncio
from contextlib import asynccontextmanager
from fastapi import FastAPI

async def refresh():
    while True:
        await asyncio.sleep(60)

@asynccontextmanager
async def lifespan(app):
    task = asyncio.create_task(refresh())
    try:
        yield
    finally:
        task.cancel()

app = FastAPI(lifespan=lifespan)
""",
        """
import asyncio
from fastapi import FastAPI

app = FastAPI()

async def refresh():
    while True:
        await asyncio.sleep(60)

@app.on_event("startup")
async def start():
    app.state.refresher = asyncio.create_task(refresh())

@app.on_event("shutdown")
async def stop():
    app.state.refresher.cancel()
""",
        # a one-off warm-up task ends by itself
        """
import asyncio
from contextlib import asynccontextmanager
from fastapi import FastAPI

_tasks = set()

async def warm_up():
    for _ in range(3):
        await asyncio.sleep(1)

@asynccontextmanager
async def lifespan(app):
    task = asyncio.create_task(warm_up())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    yield

app = FastAPI(lifespan=lifespan)
""",
        # the loop stops on a flag
        """
import asyncio
from fastapi import FastAPI

app = FastAPI()
running = True

async def poll():
    while True:
        if not running:
            break
        await asyncio.sleep(1)

@app.on_event("startup")
async def start():
    asyncio.create_task(poll())
""",
        # not startup code
        """
import asyncio

async def poll():
    while True:
        await asyncio.sleep(1)

async def main():
    asyncio.create_task(poll())
""",
    ]
    invalid = [
        Invalid("""
import asyncio
from contextlib import asynccontextmanager
from fastapi import FastAPI

async def refresh_prices():
    while True:
        await asyncio.sleep(60)

@asynccontextmanager
async def lifespan(app):
    poller = asyncio.create_task(refresh_prices())
    yield

app = FastAPI(lifespan=lifespan)
""", line=11, column=14, message="`refresh_prices`"),
        Invalid("""
import asyncio as aio
from fastapi import FastAPI

app = FastAPI()

@app.on_event("startup")
async def start():
    async def heartbeat():
        while 1:
            await aio.sleep(5)

    aio.create_task(heartbeat())
""", line=12, message="`heartbeat`"),
        Invalid("""
import asyncio
from app.main import app

class Cache:
    async def _refresh(self):
        while True:
            await asyncio.sleep(1)

    async def start(self):
        self.task = asyncio.create_task(self._refresh())

cache = Cache()

@app.on_event("startup")
async def start():
    asyncio.get_running_loop().create_task(cache._refresh())
""", files={"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n"},
            path="app/cache.py", line=16),
        # the loop lives in another linted module; the task is kept on app.state but never cancelled
        Invalid("""
import asyncio
from contextlib import asynccontextmanager
from fastapi import FastAPI
from app.workers import sweep_sessions

@asynccontextmanager
async def lifespan(app):
    app.state.sweeper = asyncio.create_task(sweep_sessions())
    yield

app = FastAPI(lifespan=lifespan)
""", files={"app/__init__.py": "", "app/workers.py": """
import asyncio

async def sweep_sessions():
    while True:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise
"""}, path="app/main.py", line=8, message="`sweep_sessions`"),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not aio.file_may_spawn(self.ctx) or not web.roles_of(self.ctx, node).startup:
            return
        index = flow.index_of(self.ctx, node)
        calls = [c for c in index.all(cst.Call) if aio.quick_spawn_candidate(c)]
        if not calls:
            return
        order = {id(n): i for i, (n, _) in enumerate(flow.walk_with_parents(node.body))}
        yields = [order[id(y)] for y in index.all(cst.Yield) if id(y) in order]
        first_yield = min(yields) if yields else None
        for call in calls:
            if first_yield is not None and order.get(id(call), 0) > first_yield:
                continue
            if aio.spawn_of(self.ctx, call, node) is None or not call.args:
                continue
            coro = call.args[0].value
            name = self._endless_coroutine(index, coro)
            if name is None or self._may_be_cancelled(index, call):
                continue
            self.report(call, coro=name)

    def _endless_coroutine(self, index, coro) -> Optional[str]:
        """The name of the function ``coro`` calls, when it loops forever."""
        if not isinstance(coro, cst.Call):
            return None
        func = coro.func
        target = None
        if isinstance(func, cst.Name):
            for inner in index.all(cst.FunctionDef):
                if inner.name.value == func.value:
                    target = inner
                    break
            else:
                qualified = self.ctx.qualify(func)
                if qualified == frozenset({f"{self.ctx.summary.module}.{func.value}"}):
                    target = _module_function(self.ctx.module, func.value)
                else:  # defined in another linted module
                    definitions = [self.ctx.project.definition(q) for q in qualified]
                    if definitions and all(d is not None and d.runs_forever for d in definitions):
                        return func.value
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            # `self._loop()` / `instance._loop()`: a method of a class in this module
            target = _any_method(self.ctx.module, func.attr.value)
        return target.name.value if target is not None and aio.endless_loop(target) else None

    def _may_be_cancelled(self, index, call: cst.Call) -> bool:
        parent = index.parent.get(call)
        if isinstance(parent, cst.Expr):
            return False
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            if len(targets) != 1:
                return True
            target = targets[0]
            if isinstance(target, cst.Name) and not aio.declared_outside(index, target.value):
                if target.value == "_":
                    return False
                reads = aio.reads_outside_done_callbacks(index, target.value)
                added = [r for r in reads if _added_to_collection(index, r)]
                if len(added) != len(reads):
                    return True  # awaited, passed on, stored: assume its owner cancels it
                # kept in a set (the LL401 recipe): cancelled only if the module cancels anything
                return bool(added) and _module_cancels_something(self.ctx)
            name = target.attr.value if isinstance(target, cst.Attribute) else \
                target.value if isinstance(target, cst.Name) else None
            if name is None:
                return True
            return _mentioned_elsewhere(self.ctx.module, name, target)
        return True


def _added_to_collection(index, load: cst.CSTNode) -> bool:
    arg = index.parent.get(load)
    call = index.parent.get(arg) if isinstance(arg, cst.Arg) else None
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
        call.func.attr.value in ("add", "append") and isinstance(index.parent.get(call), cst.Expr)


def _module_cancels_something(ctx) -> bool:
    key = "tasks-module-cancels"
    if key not in ctx.cache:
        ctx.cache[key] = b".cancel" in ctx.source and any(
            isinstance(n, cst.Attribute) and n.attr.value == "cancel" for n, _ in flow.walk_with_parents(ctx.module))
    return ctx.cache[key]


def _module_function(module: cst.Module, name: str) -> Optional[cst.FunctionDef]:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    return None


def _any_method(module: cst.Module, name: str) -> Optional[cst.FunctionDef]:
    found = [m for stmt in module.body if isinstance(stmt, cst.ClassDef) for m in stmt.body.body
             if isinstance(m, cst.FunctionDef) and m.name.value == name]
    return found[0] if len(found) == 1 else None


def _mentioned_elsewhere(module: cst.Module, name: str, target: cst.CSTNode) -> bool:
    """The global ``name`` (or, for an attribute target, an attribute ``.name``) is used anywhere
    but in ``target`` itself: someone may cancel it."""
    inside = {id(n) for n, _ in flow.walk_with_parents(target)}
    attribute = isinstance(target, cst.Attribute)
    for node, parent in flow.walk_with_parents(module):
        if not isinstance(node, cst.Name) or node.value != name or id(node) in inside:
            continue
        if isinstance(parent, cst.NameItem):
            continue  # `global name`
        if attribute != (isinstance(parent, cst.Attribute) and parent.attr is node):
            continue
        return True
    return False
