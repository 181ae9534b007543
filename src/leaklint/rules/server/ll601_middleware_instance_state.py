"""LL601 middleware-instance-state: a middleware that keeps per-request state on its instance."""

from __future__ import annotations

from typing import Set

import libcst as cst

from leaklint.rule import Invalid, Rule
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import state


class MiddlewareInstanceState(Rule):
    """## What it does
    Finds a middleware that keeps per-request state on its instance: in
    `BaseHTTPMiddleware.dispatch` or a pure ASGI middleware's `__call__(self, scope, receive, send)`
    (and functions nested in them), an assignment to `self.<attr>` or a call that grows it
    (`self.<attr>.append(...)`, `self.<attr>[k] = v`, `self.<attr> += ...`).

    ## Why is this bad?
    The middleware is instantiated once, when the application starts, and serves every request.
    A list or dict grown per request grows for the life of the worker, and a plain attribute set per
    request is shared by concurrent requests: one request reads another's value.

    ## Example
    ```python
    class TimingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            self.start = time.monotonic()
            response = await call_next(request)
            response.headers["x-time"] = str(time.monotonic() - self.start)
            return response
    ```

    Use instead: a local variable, or `request.state` / the ASGI `scope` for values that other code
    needs during the same request.

    ## Known problems
    A one-time lazy initialisation (`if self._ready is None: self._ready = ...`) is not reported,
    nor is an ASGI "responder" class that the module instantiates inside a function (Starlette's
    GZip and body-limit middlewares build one per request, so its state is per request).
    A count or table that a `finally:` of the same method takes back from (`self.active -= 1`,
    `self.per_user.pop(user)`) is an in-flight limiter, shared on purpose: not reported. A plain
    value reset in `finally` still is: concurrent requests see each other's.
    """

    code = "LL601"
    name = "middleware-instance-state"
    message = "`self.{attr}` is {what} on every request in `{cls}.{method}`: one middleware instance serves all requests; use a local variable or `request.state`"
    family = "server"

    valid = [
        """
import time
from starlette.middleware.base import BaseHTTPMiddleware

class Timing(BaseHTTPMiddleware):
    def __init__(self, app, header="x-time"):
        super().__init__(app)
        self.header = header

    async def dispatch(self, request, call_next):
        start = time.monotonic()
        request.state.start = start
        response = await call_next(request)
        response.headers[self.header] = str(time.monotonic() - start)
        return response
""",
        # lazy one-time initialisation guarded by the attribute
        """
class Lazy:
    def __init__(self, app):
        self.app = app
        self.client = None

    async def __call__(self, scope, receive, send):
        if self.client is None:
            self.client = object()
        await self.app(scope, receive, send)
""",
        # an ASGI responder created per request by the real middleware
        """
class Responder:
    def __init__(self, app):
        self.app = app
        self.send = None

    async def __call__(self, scope, receive, send):
        self.send = send
        await self.app(scope, receive, self.send_wrapper)

    async def send_wrapper(self, message):
        await self.send(message)

class GZip:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        await Responder(self.app)(scope, receive, send)
""",
        # not a middleware: a class with a dispatch method
        """
class Dispatcher:
    async def dispatch(self, request, call_next):
        self.last = request
""",
        # an in-flight limiter: the count and the per-user table are shared on purpose, and the
        # `finally` takes back what the request added
        """
class UploadLimiter:
    def __init__(self, app):
        self.app = app
        self.active = 0
        self.per_user = {}

    async def __call__(self, scope, receive, send):
        user = scope.get("user")
        self.active += 1
        self.per_user[user] = self.per_user.get(user, 0) + 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
            left = self.per_user[user] - 1
            if left:
                self.per_user[user] = left
            else:
                self.per_user.pop(user)
""",
        # a Response subclass is an ASGI app that serves one request: its state is that response's
        """
from starlette.responses import Response

class ProgressResponse(Response):
    async def __call__(self, scope, receive, send):
        self.started = True
        await super().__call__(scope, receive, send)
""",
    ]
    invalid = [
        Invalid("""
import time
from fastapi.middleware.base import BaseHTTPMiddleware as Base

class Timing(Base):
    async def dispatch(self, request, call_next):
        self.start = time.monotonic()
        return await call_next(request)
""", line=6, column=9, message="`self.start` is assigned on every request in `Timing.dispatch`"),
        Invalid("""
class Recorder:
    def __init__(self, app):
        self.app = app
        self.paths = []

    async def __call__(self, scope, receive, send):
        async def send_wrapper(message):
            self.paths.append(scope["path"])
            await send(message)
        await self.app(scope, receive, send_wrapper)
""", line=8, message="`self.paths` is grown"),
        # a value reset in `finally` is still shared by the requests served at the same time
        Invalid("""
class CurrentRequest:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        self.scope = scope
        try:
            await self.app(scope, receive, send)
        finally:
            self.scope = None
""", line=6, message="`self.scope` is assigned on every request"),
        # the BaseHTTPMiddleware subclass comes from another linted module
        Invalid("""
from app.base import AppMiddleware

class Audit(AppMiddleware):
    async def dispatch(self, request, call_next):
        self.seen[request.url.path] = 1
        return await call_next(request)
""", files={"app/__init__.py": "", "app/base.py": """
from starlette.middleware.base import BaseHTTPMiddleware

class AppMiddleware(BaseHTTPMiddleware):
    seen = {}
"""}, path="app/audit.py", line=5),
    ]

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return any(f.in_class and p.endswith((".dispatch", ".__call__")) and web.function_roles(summary, project, p).middleware
                   for p, f in summary.functions.items())

    def _per_call_classes(self) -> Set[str]:
        return _per_call_classes_of(self.ctx)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value not in ("dispatch", "__call__"):
            return
        cls = self.ctx.enclosing_class(node)
        params = list(node.params.params)
        if cls is None or not params or not web.roles_of(self.ctx, node).middleware:
            return
        if f"{self.ctx.summary.module}.{cls.name.value}" in self._per_call_classes():
            return  # an ASGI "responder" built per request by the real middleware: its state is per request
        me = params[0].name.value
        parents = flow.parent_map(node)
        reported: Set[str] = set()
        for n in flow.walk(node.body):
            if not (isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == me):
                continue
            attr = n.attr.value
            if attr in reported:
                continue
            parent = parents.get(n)
            if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and parent.target is n:
                what, site = "assigned", n
            elif isinstance(parent, cst.AugAssign) and parent.target is n:
                what, site = "updated", n
            else:
                use = state.classify_use(self.ctx, n, parents.get)
                if use.kind != "grow":
                    continue
                what, site = "grown", use.node
            if _guarded_by_itself(n, attr, me, parents) or state.lazily_initialised(n, me, parents):
                continue
            if what != "assigned" and _undone_in_finally(self.ctx, node, attr, me, parents):
                continue
            reported.add(attr)
            self.report(site, attr=attr, what=what, cls=cls.name.value, method=node.name.value)


def _per_call_classes_of(ctx) -> Set[str]:
    """Classes of this module instantiated inside a function body (``Responder(self.app)(scope, ...)``)."""
    key = "ll601-per-call-classes"
    if key not in ctx.cache:
        definitions = ctx.summary.definitions
        called = {c for facts in ctx.summary.functions.values() for c in facts.calls}
        ctx.cache[key] = {f"{ctx.summary.module}.{c}" for c in called
                          if c in definitions and definitions[c].kind == "class"}
    return ctx.cache[key]


def _undone_in_finally(ctx, method: cst.FunctionDef, attr: str, me: str, parents) -> bool:
    """A ``finally:`` of the method takes back from ``self.attr`` (``self.active -= 1``,
    ``self.per_user.pop(user)``): an in-flight count or table that is shared on purpose and holds
    only the requests being served, not state kept per request."""
    for n in flow.walk(method.body):
        if not (isinstance(n, cst.Try) and n.finalbody is not None):
            continue
        for inner in flow.walk(n.finalbody):
            if isinstance(inner, cst.Attribute) and inner.attr.value == attr and isinstance(inner.value, cst.Name) \
                    and inner.value.value == me and state.classify_use(ctx, inner, parents.get).kind == "evict":
                return True
    return False


def _guarded_by_itself(node: cst.CSTNode, attr: str, me: str, parents) -> bool:
    """Inside ``if self.attr is None:`` / ``if not self.attr:`` (one-time lazy initialisation)."""
    current = parents.get(node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        if isinstance(current, cst.If):
            for n in flow.walk(current.test):
                if isinstance(n, cst.Attribute) and n.attr.value == attr and isinstance(n.value, cst.Name) \
                        and n.value.value == me:
                    return True
        current = parents.get(current)
    return False
