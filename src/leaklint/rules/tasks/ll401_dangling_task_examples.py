"""LL401's `invalid` examples (the valid ones are in ``ll401_dangling_task_valid_examples``)."""

from __future__ import annotations

from leaklint.rule import Invalid
from leaklint.rules.tasks._common import COMPAT_PY

INVALID = [
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
""", line=6, message="assigned to `task` and read only to add a done callback", fixed="""
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
    Invalid("""
import asyncio

async def main(refresh):
    loop = asyncio.get_running_loop()
    for delay in (60, 120):
        loop.call_later(delay, lambda: asyncio.create_task(refresh()))
""", line=6, column=40, message="returned from a lambda passed to `.call_later()`, which discards it"),
    Invalid("""
import asyncio

def retry_on_failure(fut, work):
    fut.add_done_callback(lambda _: asyncio.ensure_future(work()))
""", line=4, message="lambda passed to `.add_done_callback()`"),
    Invalid("""
import asyncio
from fastapi import FastAPI

async def warm_caches():
    await asyncio.sleep(1)

app = FastAPI(on_startup=[lambda: asyncio.create_task(warm_caches())])
app.add_event_handler("shutdown", lambda: asyncio.create_task(warm_caches()))
""", line=7, message="`on_startup=`", count=2),
    # a nested function registered as the callback
    Invalid("""
import asyncio
import signal

async def serve(server):
    loop = asyncio.get_running_loop()

    def on_signal():
        return asyncio.create_task(server.shutdown())

    loop.add_signal_handler(signal.SIGTERM, on_signal)
    loop.call_later(3600, on_signal)
    await server.serve()
""", line=8, message="returned by `on_signal`, a callback of `.add_signal_handler()`"),
    # a handler the framework awaits and whose result it drops
    Invalid("""
import asyncio
from fastapi import FastAPI

app = FastAPI()

async def poll():
    await asyncio.sleep(5)

@app.on_event("startup")
async def start_polling():
    return asyncio.create_task(poll())
""", line=11, message="`@on_event`"),
    Invalid("""
import asyncio

def install(loop, poll):
    handler = lambda *_: asyncio.create_task(poll())
    loop.call_soon(handler)
""", line=4, message="returned from the lambda `handler`, passed to `.call_soon()`"),
    # a finaliser that stops elsewhere too: only `__del__` itself is exempt
    Invalid("""
import asyncio

class Client:
    def __del__(self):
        self.close()

    def close(self):
        asyncio.get_running_loop().create_task(self.aclose())

    async def aclose(self):
        await asyncio.sleep(0)
""", line=8, message="discarded"),
]
