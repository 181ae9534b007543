"""LL403's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid

VALID = [
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
    # per request, a loop that serves the request's websocket ends with it
    """
import asyncio
from fastapi import FastAPI, WebSocket

app = FastAPI()

async def heartbeat(ws):
    while True:
        await ws.send_json({"type": "ping"})
        await asyncio.sleep(10)

@app.websocket("/ws")
async def events(ws: WebSocket):
    await ws.accept()
    asyncio.create_task(heartbeat(ws))
    async for message in ws.iter_text():
        await ws.send_text(message)
""",
    # per request, cancelled when the request ends
    """
import asyncio
from fastapi import FastAPI

app = FastAPI()

async def tick():
    while True:
        await asyncio.sleep(1)

@app.get("/report")
async def report():
    ticker = asyncio.create_task(tick())
    try:
        return {"ok": True}
    finally:
        ticker.cancel()
""",
]
INVALID = [
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
    # started on every request: one more immortal loop per call
    Invalid("""
import asyncio
from fastapi import FastAPI

app = FastAPI()

async def refresh_rates():
    while True:
        await asyncio.sleep(60)

@app.post("/rates/refresh")
async def refresh():
    asyncio.create_task(refresh_rates())
    return {"scheduled": True}
""", line=12, message="Task started per request running `refresh_rates` loops forever and is never cancelled "
                      "(POST /rates/refresh): every request adds one more loop"),
    # a helper of another module, called by a route, starts a loop of a third module
    Invalid("""
import asyncio
from app.loops import watch_queue

def start_watcher():
    asyncio.create_task(watch_queue())
""", files={"app/__init__.py": "", "app/loops.py": """
import asyncio

async def watch_queue():
    while True:
        await asyncio.sleep(1)
""", "app/routes.py": """
from fastapi import APIRouter
from app.service import start_watcher

router = APIRouter()

@router.post("/jobs")
def create_job():
    start_watcher()
    return {}
"""}, path="app/service.py", line=5, message="(POST /jobs -> `start_watcher()`)"),
]
