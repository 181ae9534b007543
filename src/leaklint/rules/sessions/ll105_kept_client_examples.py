"""LL105 examples for a helper that keeps the client it returns on an object."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a helper that makes the client once and keeps it where the app closes it at shutdown
_SHARED_SESSION = """
import aiohttp
from fastapi import FastAPI, Request

app = FastAPI()


async def cluster_session(request: Request) -> aiohttp.ClientSession:
    session = getattr(request.app.state, "cluster", None)
    if session is not None and not session.closed:
        return session
    session = aiohttp.ClientSession()
    request.app.state.cluster = session
    return session


@app.on_event("shutdown")
async def close_cluster():
    if getattr(app.state, "cluster", None) is not None:
        await app.state.cluster.close()


@app.get("/cluster/{path:path}")
async def proxy(path: str, request: Request):
    session = await cluster_session(request)
    async with session.get(f"https://cluster/{path}") as response:
        return await response.json()
"""

#: a websocket session that keeps the completions API of an SDK client; ``{part}`` makes it
_SESSION_PART = """
from fastapi import FastAPI, WebSocket
from openai import AsyncOpenAI

URL = "http://llm:8000/v1"
app = FastAPI()


class Conversation:
    def __init__(self, completions):
        self.completions = completions


@app.websocket("/talk")
async def talk(ws: WebSocket):
    completions = {part}
    conversation = Conversation(completions)
    await ws.accept()
    await ws.send_json({{"ready": bool(conversation)}})
"""

VALID = [Valid(_SHARED_SESSION)]

INVALID = [
    # kept on an object the caller passes in, made per request and closing nothing: no owner
    Invalid("""
import httpx
from fastapi import FastAPI

app = FastAPI()


class Job:
    def __init__(self, url):
        self.url = url
        self.last = None


def open_client(job: Job) -> httpx.Client:
    client = httpx.Client(base_url=job.url)
    job.last = client
    return client


@app.get("/run")
def run(url: str):
    client = open_client(Job(url))
    return client.get("/").json()
""", line=21, message="`client` is created per request and never closed"),
    # a cache keyed by user: every miss makes a client that nothing closes
    Invalid("""
from functools import lru_cache
import httpx
from fastapi import FastAPI

app = FastAPI()


@lru_cache(maxsize=256)
def profile(user_id: str) -> dict:
    client = httpx.Client(timeout=5)
    return client.get(f"https://profiles/{user_id}").json()


@app.get("/users/{user_id}")
def user(user_id: str):
    return profile(user_id)
""", line=10, message="`client` is created per request and never closed"),
    # kept on the request's own state instead: nothing closes that, and it is made per request
    Invalid(_SHARED_SESSION.replace("request.app.state.cluster = session", "request.state.cluster = session"),
            line=24, message="`session` is created per request and never closed"),
    # made only to take a part of it (the part keeps the client and its pool alive): nothing can close it
    Invalid(_SESSION_PART.format(part="AsyncOpenAI(base_url=URL).chat.completions"), line=15, column=19,
            message="`AsyncOpenAI()` is created per request and never closed"),
]

PART_VALID = [
    # the part of a client the application made once and closes at shutdown
    _SESSION_PART.format(part="app.state.llm.chat.completions"),
    # a release method taken from a fresh client is no part of it (it is called, or handed to an owner)
    _SESSION_PART.format(part="AsyncOpenAI(base_url=URL).close"),
]
