"""LL402's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid
from leaklint.rules.tasks._common import COMPAT_PY

VALID = [
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
    # awaited together: a batch its owner ends
    """
import asyncio

class Crawler:
    def __init__(self):
        self.tasks = []

    async def crawl(self, urls, fetch):
        for url in urls:
            self.tasks.append(asyncio.create_task(fetch(url)))
        return await asyncio.gather(*self.tasks)
""",
    # a dict of tasks, one per node of a run, gathered by its values
    """
import asyncio

class RunExecutor:
    def __init__(self):
        self._by_node = {}

    def start(self, node_id, run_node):
        if node_id not in self._by_node:
            self._by_node[node_id] = asyncio.create_task(run_node(node_id))
        return self._by_node[node_id]

    async def finish(self):
        return await asyncio.gather(*self._by_node.values(), return_exceptions=True)
""",
    # cancelled at shutdown
    """
import asyncio

class Pinger:
    _running = set()

    def start(self, ping):
        self._running.add(asyncio.create_task(ping()))

    async def stop(self):
        for task in self._running:
            task.cancel()
""",
    # a done-callback that stores the finished task's result elsewhere and prunes the running set
    """
import asyncio

class Jobs:
    def __init__(self):
        self.running = set()
        self.finished = []

    def submit(self, coro):
        task = asyncio.create_task(coro)
        self.running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task):
        self.running.discard(task)
        self.finished.append(task.result())
""",
]
INVALID = [
        Invalid("""
import asyncio

_tasks = set()

async def notify(send, user):
    _tasks.add(asyncio.create_task(send(user)))
""", line=6, column=5, message="`_tasks`, which nothing ever prunes: it grows with every task"),
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
""", files={"app/__init__.py": "", "app/compat.py": COMPAT_PY}, path="app/jobs.py", line=6,
            message="`running`, which nothing ever prunes: it keeps one task for every key ever used"),

    # a class-level set shared by every instance
    Invalid("""
import asyncio

class Notifier:
    _pending = set()

    def notify(self, send, user):
        self._pending.add(asyncio.create_task(send(user)))
""", line=7, message="`self._pending`"),
    Invalid("""
import asyncio

class Registry:
    running = []

    @classmethod
    def spawn(cls, coro):
        cls.running.append(asyncio.create_task(coro))
""", line=8, message="`self.running`"),
    # the spawning definition is the second of two under `if`/`else` (the summary's lines are the first's)
    Invalid("""
import asyncio
import sys

from fastapi import FastAPI

app = FastAPI()
_tasks = set()


async def work(x):
    await asyncio.sleep(x)


if sys.version_info >= (3, 99):
    def kick(x):
        return None
else:
    def kick(x):
        task = asyncio.create_task(work(x))
        _tasks.add(task)


@app.post("/kick")
async def route(x: int):
    kick(x)
""", line=20, message="Task kept in `_tasks`"),
]
