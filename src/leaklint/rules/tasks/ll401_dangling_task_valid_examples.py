"""LL401's `valid` examples, kept apart from the rule and its invalid examples to keep each short."""

from __future__ import annotations

from leaklint.rule import Valid

VALID = [
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
    # the executor's future keeps the task's wake-up callback: it cannot vanish while the thread runs
    """
import asyncio

def flush_to_disk(path):
    pass

async def save(path):
    done = asyncio.create_task(asyncio.to_thread(flush_to_disk, path))
    return path
""",
    # a callback that keeps the task it spawns (the done-callback stores it)
    """
import asyncio

_pending = set()

def retry_later(fut, work):
    fut.add_done_callback(lambda _: _pending.add(asyncio.ensure_future(work())))
""",
    # a lambda whose result the caller keeps: not a discarding registrar
    """
import asyncio

async def main(work, run_later):
    handle = run_later(lambda: asyncio.create_task(work()))
    return await handle
""",
    # `ensure_future(fut)` of an existing future hands back that future, kept by its owner
    """
import asyncio

def chain(loop, fut, on_result):
    loop.call_soon(lambda: asyncio.ensure_future(fut))
""",
    # the callback is also called for its value: the task is used there
    """
import asyncio
import signal

def start_shutdown(stop):
    return asyncio.create_task(stop())

async def main(loop, stop):
    loop.add_signal_handler(signal.SIGTERM, start_shutdown, stop)
    task = start_shutdown(stop)
    await task
""",
    # a TaskGroup's tasks are owned by the group
    """
import asyncio

async def main(loop, tg: asyncio.TaskGroup, work):
    loop.call_soon(lambda: tg.create_task(work()))
""",
    # the coroutine never suspends: it finishes in the first step, which the loop's ready queue holds
    """
import asyncio
import os
import signal

def install(loop):
    async def exit_now():
        os._exit(0)

    loop.add_signal_handler(signal.SIGTERM, lambda: asyncio.create_task(exit_now()))
""",
    # signal handlers run once, as the process stops: a lambda, a named lambda, a nested function
    """
import asyncio
import signal

async def main(shutdown):
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda s=sig: asyncio.create_task(shutdown(s)))
""",
    """
import asyncio
import signal

def install(stop):
    handler = lambda *_: asyncio.create_task(stop())
    signal.signal(signal.SIGTERM, handler)
""",
    """
import asyncio
import signal

class Profiler:
    async def run(self, cleanup):
        def on_interrupt(sig, frame):
            asyncio.create_task(cleanup(sig))

        signal.signal(signal.SIGINT, on_interrupt)
        signal.signal(signal.SIGTERM, on_interrupt)
        await asyncio.sleep(3600)
""",
    # a finaliser: its object is being collected, nothing is left to own the close task
    """
import asyncio

class AsyncClient:
    def __del__(self):
        loop = asyncio.get_event_loop()
        loop.create_task(self.close())

    async def close(self):
        await asyncio.sleep(0)
""",
    # behind a debug switch, off in a default deployment
    """
import asyncio
import os

DEBUG_TASKS = os.environ.get("DEBUG_TASKS", "false") == "true"


async def lifespan(app, watch):
    if DEBUG_TASKS:
        asyncio.create_task(watch())
    yield
""",
    # a hand-run script: its loop, and every task on it, end with the run
    Valid("""
import asyncio

async def send(i):
    await asyncio.sleep(i)

async def main(workers):
    for i in range(workers):
        asyncio.create_task(send(i))
    await asyncio.sleep(60)
""", path="scripts/replay_events.py"),
]
