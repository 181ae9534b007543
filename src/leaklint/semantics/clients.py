"""HTTP clients (httpx, aiohttp, requests, urllib3, OpenAI/Anthropic SDKs): which calls make one.

A client owns a connection pool (and, for aiohttp, a connector with open sockets); the resource
table names the constructors, and the ownership summaries add the project's own helpers that
return a new client (``def make_client(): return httpx.AsyncClient(timeout=5)``).
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.semantics.resources import ASYNC_SDK_CLIENTS, DEFAULT_TABLE, SDK_CLIENTS, SHARED_POOL_KEYWORD

KIND = DEFAULT_TABLE.kind("http-client")
CONSTRUCTORS = KIND.acquire | KIND.async_acquire
RELEASE_METHODS = frozenset({"close", "aclose"})


SYNC, ASYNC, EITHER = "sync", "async", "either"


def client_created_by(ctx, call: cst.Call) -> Optional[str]:
    """``SYNC``/``ASYNC`` when ``call`` makes a new HTTP client (``EITHER``: a helper that returns
    one flavour or the other by argument), else None."""
    callee = ctx.qualify(call.func)
    if not callee or callee & (SDK_CLIENTS | ASYNC_SDK_CLIENTS) and _given_a_pool(call):
        return None
    if callee & KIND.async_acquire:
        return ASYNC
    if callee & KIND.acquire:
        return SYNC
    ownership = ctx.project.ownership
    for name in callee:
        found = ownership.returns.get(name) if ownership is not None else None
        if found is not None and found[0] == "http-client":
            return EITHER if found[1] is None else ASYNC if found[1] else SYNC
    return None


def may_create_clients(summary, project, outside_with: bool = False) -> bool:
    """Cheap look: does the module (or one function: its ``FunctionFacts`` have ``called`` too) call a
    client constructor or a helper that returns a new client? ``outside_with`` (a function's facts
    only): not counting the ones it calls only as a ``with`` item."""
    returns = project.ownership.returns if project.ownership is not None else {}
    called = summary.called - summary.called_only_in_with if outside_with else summary.called
    for name in called:
        canonical = project.canonical(name)
        if canonical in CONSTRUCTORS or name in CONSTRUCTORS:
            return True
        found = returns.get(canonical)
        if found is not None and found[0] == "http-client":
            return True
    return False


def _given_a_pool(call: cst.Call) -> bool:
    """``AsyncOpenAI(http_client=app_client)``: the SDK client uses a pool someone else owns and
    closes (a new one made in the call, ``http_client=httpx.AsyncClient()``, is still its own)."""
    return any(arg.keyword is not None and arg.keyword.value == SHARED_POOL_KEYWORD and
               not isinstance(arg.value, cst.Call) for arg in call.args)
