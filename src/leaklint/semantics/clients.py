"""Network clients (httpx, aiohttp, requests, urllib3, OpenAI/Anthropic SDKs, Redis): which calls make one.

A client owns a connection pool (and, for aiohttp, a connector with open sockets); the resource
table names the constructors, and the ownership summaries add the project's own helpers that
return a new client (``def make_client(): return httpx.AsyncClient(timeout=5)``).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import libcst as cst

from leaklint.semantics.resources import DEFAULT_TABLE, SHARED_POOL_KEYWORDS

KINDS = tuple(DEFAULT_TABLE.kind(name) for name in ("http-client", "redis-client"))
KIND_NAMES = frozenset(kind.name for kind in KINDS)
CONSTRUCTORS = frozenset().union(*(kind.acquire | kind.async_acquire for kind in KINDS))
RELEASE_METHODS = frozenset({"close", "aclose"})


SYNC, ASYNC, EITHER = "sync", "async", "either"


class Made(NamedTuple):
    flavour: str  # SYNC, ASYNC, or EITHER: a helper that returns one flavour or the other by argument
    label: str  # how messages name the client: "HTTP client", "Redis client"


def client_created_by(ctx, call: cst.Call) -> Optional[Made]:
    """What ``call`` makes when it makes a new client, else None."""
    callee = ctx.qualify(call.func)
    if not callee or _given_a_pool(call, callee):
        return None
    for kind in KINDS:
        if callee & kind.async_acquire:
            return Made(ASYNC, kind.label)
        if callee & kind.acquire:
            return Made(SYNC, kind.label)
    ownership = ctx.project.ownership
    for name in callee:
        found = ownership.returns.get(name) if ownership is not None else None
        if found is not None and found[0] in KIND_NAMES:
            flavour = EITHER if found[1] is None else ASYNC if found[1] else SYNC
            return Made(flavour, DEFAULT_TABLE.kind(found[0]).label)
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
        if found is not None and found[0] in KIND_NAMES:
            return True
    return False


def _given_a_pool(call: cst.Call, callee) -> bool:
    """``AsyncOpenAI(http_client=app_client)``, ``Redis(connection_pool=pool)``: the client uses a
    pool someone else owns and closes (one made in the call, ``http_client=httpx.AsyncClient()``,
    is still its own)."""
    return any(arg.keyword is not None and arg.keyword.value in SHARED_POOL_KEYWORDS and
               callee & SHARED_POOL_KEYWORDS[arg.keyword.value] and not isinstance(arg.value, cst.Call)
               for arg in call.args)
