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

VALID = [Valid(_SHARED_SESSION)]

INVALID = [
    # kept on the request's own state instead: nothing closes that, and it is made per request
    Invalid(_SHARED_SESSION.replace("request.app.state.cluster = session", "request.state.cluster = session"),
            line=24, message="`session` is created per request and never closed"),
]
