"""LL303 contextvar-token-on-shared-object: a ContextVar token stored on `self`, a class or a global in a middleware."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.rule import Invalid
from leaklint.rules.context_vars._common import CONTEXT_PY, _ContextVarRule, _set_target
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex


class ContextVarTokenOnSharedObject(_ContextVarRule):
    """## What it does
    Finds a ContextVar token (the result of `var.set(...)`) stored on `self`, on a class or in a
    module-level variable inside a middleware (`@app.middleware("http")`, `BaseHTTPMiddleware.dispatch`,
    a pure ASGI `__call__(scope, receive, send)`).

    ## Why is this bad?
    One middleware instance serves every request at once. Request B overwrites the token request A
    stored, so A resets with B's token (`ValueError: <Token> was created in a different Context`) or
    not at all, and the value set for A leaks. Tokens are per call: keep them in a local variable.

    ## Example
    ```python
    class RequestIdMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            self.token = request_id.set(request.headers["x-request-id"])
            try:
                return await call_next(request)
            finally:
                request_id.reset(self.token)
    ```

    Use instead:
    ```python
    class RequestIdMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            token = request_id.set(request.headers["x-request-id"])
            try:
                return await call_next(request)
            finally:
                request_id.reset(token)
    ```
    """

    code = "LL303"
    name = "contextvar-token-on-shared-object"
    message = "ContextVar token stored in `{target}` in middleware `{func}`: concurrent requests overwrite it"

    valid = [
        CONTEXT_PY + """
class RequestIdMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        token = request_id.set("x")
        try:
            await self.app(scope, receive, send)
        finally:
            request_id.reset(token)
""",
        # per-request state is not shared
        CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

@app.middleware("http")
async def mw(request, call_next):
    request.state.token = request_id.set("x")
    try:
        return await call_next(request)
    finally:
        request_id.reset(request.state.token)
""",
        # not a middleware: a context manager object is per use
        CONTEXT_PY + """
class bound:
    def __enter__(self):
        self.token = request_id.set("x")

    def __exit__(self, *exc):
        request_id.reset(self.token)
""",
    ]
    invalid = [
        Invalid(CONTEXT_PY + """
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        self.token = request_id.set(request.headers.get("x-request-id", "-"))
        try:
            return await call_next(request)
        finally:
            request_id.reset(self.token)
""", line=10, column=22, message="`self.token` in middleware `dispatch`"),
        Invalid("""
from app.context import request_id


class RequestIdMiddleware:
    def __init__(self, app):
        self.app = app
        self.tokens = []

    async def __call__(self, scope, receive, send):
        token = request_id.set("x")
        self.tokens.append(token)
        try:
            await self.app(scope, receive, send)
        finally:
            request_id.reset(self.tokens.pop())
""", files={"app/__init__.py": "", "app/context.py": CONTEXT_PY}, path="app/middleware.py", line=10,
            message="`self.tokens`"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "set":
            return
        target = _set_target(self.ctx, node)
        if target is None:
            return
        fn, _ = target
        if not web.roles_of(self.ctx, fn).middleware:
            return
        index = flow.index_of(self.ctx, fn)
        shared = _shared_target(self.ctx, index, fn, self.ctx.parent(node), node)
        if shared is None:
            token = flow.assigned_name(index, node)
            if token is not None:
                for load in index.loads(token):
                    shared = _shared_target(self.ctx, index, fn, index.parent.get(load), load)
                    if shared is not None:
                        break
        if shared is not None:
            self.report(node, target=shared, func=fn.name.value)


def _self_name(fn: cst.FunctionDef) -> Optional[str]:
    params = fn.params.posonly_params or fn.params.params
    return params[0].name.value if params else None


def _root_name(expr: cst.BaseExpression) -> Optional[str]:
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _shared_target(ctx, index: FunctionIndex, fn: cst.FunctionDef, parent, value) -> Optional[str]:
    """Where ``value`` (a token) is stored, when that place is shared between requests."""
    target = None
    if isinstance(parent, cst.Assign) and parent.value is value and len(parent.targets) == 1:
        target = parent.targets[0].target
    elif isinstance(parent, cst.AnnAssign) and parent.value is value:
        target = parent.target
    elif isinstance(parent, cst.Arg):
        call = index.parent.get(parent)
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                call.func.attr.value in ("append", "add", "insert", "setdefault", "put", "put_nowait"):
            target = call.func.value
    if target is None:
        return None
    root = _root_name(target)
    if root is None:
        return None
    owner = ctx.enclosing_class(fn)
    if owner is not None and root == _self_name(fn) and not (
            isinstance(target, cst.Attribute) and isinstance(target.value, cst.Attribute)
            and target.value.attr.value == "state"):
        return ctx.code(target)
    if isinstance(target, cst.Name) and aio.declared_outside(index, root):
        return root
    if not isinstance(target, cst.Name) and root in ctx.summary.definitions and not _locally_bound(index, root):
        return ctx.code(target)  # `_tokens[...] = token` on a module-level dict
    return None


def _locally_bound(index: FunctionIndex, name: str) -> bool:
    params = index.fn.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    return name in names or bool(index.assignments(name))
