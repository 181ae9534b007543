"""LL401 dangling-task: an asyncio task whose result nobody keeps."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability
from leaklint.rules.tasks._common import _TaskRule
from leaklint.rules.tasks.ll401_dangling_task_examples import INVALID
from leaklint.rules.tasks.ll401_dangling_task_valid_examples import VALID
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import asyncio_callbacks as callbacks
from leaklint.semantics import flow
from leaklint.semantics.resources import THREAD_RUNNERS

TASKS_SET = "_background_tasks"
TASKS_SET_STATEMENT = f"{TASKS_SET}: set = set()"


class DanglingTask(_TaskRule):
    """## What it does
    Finds a task created with `asyncio.create_task(...)`, `asyncio.ensure_future(...)` or
    `loop.create_task(...)` (`asyncio.get_running_loop().create_task(...)`, a `loop` bound to
    `get_event_loop()`, ...) whose result nobody keeps: the call is a statement of its own, its
    result is assigned to `_` or to a local that is never read again, or only
    `.add_done_callback(...)` is called on it. Aliases (`from asyncio import create_task as spawn`)
    and re-exports from other linted modules are followed.

    Also a task *returned* to a caller that throws it away: from a lambda or a function registered
    as a callback (`loop.call_later(60, lambda: asyncio.create_task(refresh()))`, `call_soon`,
    `fut.add_done_callback(lambda _: asyncio.ensure_future(retry()))`, `app.add_event_handler(...)`,
    `on_startup=[...]`, an `@app.on_event(...)` handler), when every use of that function registers
    it so (ruff's RUF006 misses these).

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
    binds `_background_tasks` to something other than a set, nor for a task returned from a
    callback (keep it in the set inside the callback by hand).

    ## Known problems
    A loop reached through an attribute (`self.loop.create_task(...)`) is not recognised, and a task
    passed to any call is assumed to be kept by the callee. A task whose coroutine is an
    `async def` of the module without any `await` is not reported: it finishes in its first step,
    which the loop holds strongly. Tasks spawned as the process stops are not reported either: in a
    signal handler (`loop.add_signal_handler`, `signal.signal`; a handler also registered elsewhere
    still is) or in a `__del__` finaliser, which has no owner left to keep them. They run once, at the
    end, and cannot pile up. Hand-run scripts (a `scripts/` folder) and tests are not
    checked: their loop ends with the run.
    """

    code = "LL401"
    name = "dangling-task"
    message = "Task from `{callee}` is {how}: the loop keeps only a weak reference, so it can vanish mid-flight"
    fix_title = "Keep a strong reference in a module-level set until the task is done"
    fix_availability = FixAvailability.SOMETIMES
    overlaps = "ruff RUF006 (asyncio-dangling-task) reports the statement and unused-binding cases without a fix."

    valid = VALID
    invalid = INVALID

    def visit_Call(self, node: cst.Call) -> None:
        if not aio.quick_spawn_candidate(node) or not aio.file_may_spawn(self.ctx):
            return
        fn = self.ctx.current_function()
        spawn = aio.spawn_cached(self.ctx, node, fn)
        if spawn is None or self._awaits_executor(node) or callbacks.never_suspends(self.ctx, node, fn) or \
                callbacks.runs_at_stop(self.ctx, node) or flow.under_debug_switch(self.ctx):
            return
        drop = aio.dropped(self.ctx, node)
        if drop is None:
            how = None if self._may_return_existing_future(node) else callbacks.discarding_registrar(self.ctx, node)
            if how is not None:
                self.report(node, callee=spawn.callee, how=how)
            return
        self.report(node, callee=spawn.callee, how=drop.how, fix=self._fix(fn, node, drop))

    def _may_return_existing_future(self, call: cst.Call) -> bool:
        """``ensure_future(fut)`` of something that is not a coroutine call returns ``fut`` itself."""
        first = call.args[0].value if call.args else None
        return not isinstance(first, cst.Call) and any(q.endswith(".ensure_future") for q in self.ctx.qualify(call.func))

    def _awaits_executor(self, call: cst.Call) -> bool:
        """``create_task(asyncio.to_thread(work))``: the executor's future holds the task's wake-up
        callback, so the task cannot be collected while the thread runs; it finishes regardless."""
        first = call.args[0].value if call.args and call.args[0].keyword is None else None
        if not isinstance(first, cst.Call):
            return False
        func = first.func
        return bool(self.ctx.qualify(func) & THREAD_RUNNERS) or (
            isinstance(func, cst.Attribute) and func.attr.value == "run_in_executor")

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
