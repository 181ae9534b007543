"""LL6xx: state kept on middleware instances, and servers that never recycle their workers."""

from __future__ import annotations

from typing import Dict, List, Optional, Set

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Invalid, Rule, Valid
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import state

RECYCLING_DEFAULTS = {"max_requests": "1000", "max_requests_jitter": "50"}


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


class GunicornWithoutWorkerRecycling(Rule):
    """## What it does
    Finds a gunicorn configuration that never recycles workers: a config module (`gunicorn.conf.py`,
    `gunicorn_conf.py`, `gunicorn_config.py`, or a module made only of gunicorn settings such as
    `bind`/`workers`/`worker_class` and server hooks) or an options dict passed to a
    `gunicorn.app.base.BaseApplication` subclass, without `max_requests` or without
    `max_requests_jitter`.

    ## Why is this bad?
    Every leak in the application (and in its C extensions) accumulates in long-lived workers until
    the container is OOM-killed. `max_requests` restarts a worker gracefully after that many
    requests, capping any leak; the jitter staggers the restarts so that all workers do not
    restart at once.

    ## Example
    ```python
    # gunicorn.conf.py
    bind = "0.0.0.0:8000"
    workers = 4
    worker_class = "uvicorn.workers.UvicornWorker"
    ```

    Use instead:
    ```python
    bind = "0.0.0.0:8000"
    workers = 4
    worker_class = "uvicorn.workers.UvicornWorker"
    max_requests = 1000
    max_requests_jitter = 50
    ```

    ## Fix safety
    The fix adds the missing settings (`max_requests = 1000`, `max_requests_jitter = 50`) after the
    last gunicorn setting, or as entries of the options dict. It is **unsafe**: workers now restart
    periodically, which drops their in-memory state and briefly reduces capacity, and the right
    numbers depend on the service.

    ## Known problems
    Settings passed on the command line (`--max-requests`) or through `GUNICORN_CMD_ARGS` are not
    seen. An options dict that is built incrementally, spread from elsewhere, or that names a
    config file leaklint does not lint, is not reported.
    """

    code = "LL602"
    name = "gunicorn-without-worker-recycling"
    message = "gunicorn configuration without {missing}: leaking workers are never recycled"
    fix_title = "Add `max_requests` and `max_requests_jitter`"
    fix_availability = FixAvailability.SOMETIMES
    family = "server"

    valid = [
        Valid("""
bind = "0.0.0.0:8000"
workers = 4
max_requests = 2000
max_requests_jitter = 100
""", path="gunicorn.conf.py"),
        # a settings module of something else: has other functions and classes
        """
import os

bind = os.environ.get("BIND", "")
workers = 2
timeout = 30

class Settings:
    pass

def load():
    return Settings()
""",
        # a config module with hooks only: the settings are passed elsewhere
        Valid("""
def post_fork(server, worker):
    pass
""", path="gunicorn_conf.py"),
        # an options dict spread from elsewhere
        """
from gunicorn.app.base import BaseApplication

class App(BaseApplication):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

def run(app, extra):
    App(app, {"bind": "0.0.0.0:80", **extra}).run()
""",
    ]
    invalid = [
        Invalid("""
# gunicorn settings
bind = "0.0.0.0:8000"
workers = 4
worker_class = "uvicorn.workers.UvicornWorker"

def post_fork(server, worker):
    server.log.info("worker %s", worker.pid)
""", path="gunicorn.conf.py", line=3, message="without `max_requests`, `max_requests_jitter`", fixed="""
# gunicorn settings
bind = "0.0.0.0:8000"
workers = 4
worker_class = "uvicorn.workers.UvicornWorker"
max_requests = 1000
max_requests_jitter = 50

def post_fork(server, worker):
    server.log.info("worker %s", worker.pid)
"""),
        # detected by its settings, with only the jitter missing
        Invalid("""
bind = "unix:/run/app.sock"
worker_class = "uvicorn.workers.UvicornWorker"
max_requests = 500
accesslog = "-"
""", path="deploy/server_settings.py", line=3, message="without `max_requests_jitter`", fixed="""
bind = "unix:/run/app.sock"
worker_class = "uvicorn.workers.UvicornWorker"
max_requests = 500
max_requests_jitter = 50
accesslog = "-"
"""),
        Invalid("""
from gunicorn.app.base import BaseApplication as Base

class StandaloneApplication(Base):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

def main(app):
    options = {
        "bind": "0.0.0.0:8000",
        "workers": 4,
    }
    StandaloneApplication(app, options).run()
""", line=10, message="without `max_requests`", fixed="""
from gunicorn.app.base import BaseApplication as Base

class StandaloneApplication(Base):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

def main(app):
    options = {
        "bind": "0.0.0.0:8000",
        "workers": 4,
        "max_requests": 1000,
        "max_requests_jitter": 50,
    }
    StandaloneApplication(app, options).run()
"""),
        # the application class is defined in another linted module; the dict names a linted config
        Invalid("""
from app.server import GunicornApp

def serve(app):
    GunicornApp(app, {"bind": "0.0.0.0:80", "config": "python:app.gunicorn_hooks"}).run()
""", files={"app/__init__.py": "", "app/gunicorn_hooks.py": "def post_fork(server, worker):\n    pass\n",
            "app/server.py": """
from gunicorn.app.base import BaseApplication

class GunicornApp(BaseApplication):
    pass
"""}, path="app/cli.py", line=4, fixed="""
from app.server import GunicornApp

def serve(app):
    GunicornApp(app, {"bind": "0.0.0.0:80", "config": "python:app.gunicorn_hooks", "max_requests": 1000, "max_requests_jitter": 50}).run()
"""),
    ]

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return state.may_configure_gunicorn(summary, project)

    def visit_Module(self, node: cst.Module) -> None:
        if not state.is_gunicorn_config_module(self.ctx.summary):
            return
        settings: Dict[str, cst.SimpleStatementLine] = {}
        for stmt in node.body:
            name = _assigned_name(stmt)
            if name in state.GUNICORN_SETTINGS:
                settings[name] = stmt  # type: ignore[assignment]
        missing = [n for n in state.RECYCLING if n not in settings]
        if not settings or not missing:
            return
        anchor = settings.get("max_requests") or list(settings.values())[-1]
        statements = [cst.parse_statement(f"{n} = {RECYCLING_DEFAULTS[n]}\n", config=node.config_for_parsing)
                      for n in missing]
        fix = Fix(self.fix_title or "", Applicability.UNSAFE,
                  {anchor: cst.FlattenSentinel([anchor, *statements])})
        report_on = settings.get("max_requests") or settings.get("workers") or settings.get("bind") or anchor
        self.report(report_on, missing=state.iter_names(missing), fix=fix)

    def visit_Call(self, node: cst.Call) -> None:
        if not node.args:
            return
        callee = self.ctx.qualify(node.func)
        apps = state.gunicorn_application_classes(self.ctx.project)
        if not callee or not {self.ctx.project.canonical(c) for c in callee} & apps:
            return
        for arg in node.args:
            options = self._options_dict(arg.value)
            if options is not None:
                self._check_options(options)
                return

    def _options_dict(self, value: cst.BaseExpression) -> Optional[cst.Dict]:
        if isinstance(value, cst.Dict):
            return value
        if not isinstance(value, cst.Name):
            return None
        fn = self.ctx.current_function()
        if fn is None:
            return None
        from leaklint.semantics import flow

        index = flow.index_of(self.ctx, fn)
        binders = index.assignments(value.value)
        if len(binders) != 1 or not isinstance(binders[0], cst.AssignTarget):
            return None
        assign = index.parent.get(binders[0])
        if not isinstance(assign, cst.Assign) or not isinstance(assign.value, cst.Dict):
            return None
        # options["max_requests"] = ..., options.update(...): built incrementally, not judged
        for load in index.loads(value.value):
            parent = index.parent.get(load)
            if isinstance(parent, (cst.Subscript, cst.Attribute)) and parent.value is load:
                grand = index.parent.get(parent)
                if isinstance(parent, cst.Subscript) and isinstance(grand, cst.AssignTarget):
                    return None
                if isinstance(parent, cst.Attribute) and parent.attr.value in state.GROW_METHODS:
                    return None
        return assign.value

    def _check_options(self, options: cst.Dict) -> None:
        keys: Dict[str, cst.BaseExpression] = {}
        for element in options.elements:
            if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                return  # ** spread or computed keys: cannot tell
            keys[element.key.evaluated_value] = element.value  # type: ignore[index]
        present = set(keys)
        config = keys.get("config")
        if config is not None:
            if not isinstance(config, cst.SimpleString):
                return
            settings = state.config_module_settings(self.ctx.project, str(config.evaluated_value))
            if settings is None:
                return
            present |= settings
        missing = [n for n in state.RECYCLING if n not in present]
        if missing:
            self.report(options, missing=state.iter_names(missing), fix=self._fix(options, missing))

    def _fix(self, options: cst.Dict, missing: List[str]) -> Fix:
        elements = list(options.elements)
        new = [cst.DictElement(key=cst.SimpleString(f'"{n}"'), value=cst.Integer(RECYCLING_DEFAULTS[n]))
               for n in missing]
        if elements:
            last = elements[-1]
            if len(elements) >= 2 and isinstance(elements[-2].comma, cst.Comma):
                sep = elements[-2].comma
            elif isinstance(options.lbrace.whitespace_after, cst.ParenthesizedWhitespace):
                sep = cst.Comma(whitespace_after=options.lbrace.whitespace_after)
            else:
                sep = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            trailing = last.comma
            chain = [last.with_changes(comma=sep)]
            for i, element in enumerate(new):
                chain.append(element.with_changes(comma=sep if i < len(new) - 1 else trailing))
            elements = elements[:-1] + chain
        else:
            sep = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
            elements = [e.with_changes(comma=sep if i < len(new) - 1 else cst.MaybeSentinel.DEFAULT)
                        for i, e in enumerate(new)]
        return Fix(self.fix_title or "", Applicability.UNSAFE, {options: options.with_changes(elements=elements)})


def _assigned_name(stmt: cst.CSTNode) -> Optional[str]:
    if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1:
        small = stmt.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            return small.targets[0].target.value
        if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
            return small.target.value
    return None
