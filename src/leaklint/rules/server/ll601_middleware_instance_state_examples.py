"""LL601's examples, kept apart from the rule to keep both short."""

from leaklint.rule import Invalid

VALID = [
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
INVALID = [
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
    # `len()` in `finally` reads the list, it takes nothing back
    Invalid("""
class PathRecorder:
    def __init__(self, app):
        self.app = app
        self.paths = []

    async def __call__(self, scope, receive, send):
        self.paths.append(scope["path"])
        try:
            await self.app(scope, receive, send)
        finally:
            print(len(self.paths))
""", line=7, message="`self.paths` is grown"),
]
