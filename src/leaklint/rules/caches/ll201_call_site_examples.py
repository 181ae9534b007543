"""LL201's examples about what reaches the growth: the arguments callers pass, and which calls run."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

_ROSTER_ROUTES = """
from fastapi import APIRouter
from app import rosters

router = APIRouter()


@router.get("/groups")
async def groups():
    return await rosters.fetch(kind="groups", build=list)


@router.get("/roles")
async def roles():
    return await rosters.fetch(kind="roles", build=list)
"""

_ROSTERS = """
_SHELVES = {}


def _shelf(kind):
    return _SHELVES.setdefault(kind, {})


async def fetch(*, kind: str, build):
    shelf = _shelf(kind)
    if "value" not in shelf:
        shelf["value"] = build()
    return shelf["value"]
"""

VALID = [
    # the key is forwarded from a parameter that every caller, in another module, passes as a literal
    Valid(_ROSTERS, files={"app/__init__.py": "", "app/routes.py": _ROSTER_ROUTES}, path="app/rosters.py"),
    # every caller passes configuration: one semaphore per configured provider
    """
import asyncio

from fastapi import FastAPI

from app.config import settings

app = FastAPI()
_limits = {}


def limiter(provider):
    if provider not in _limits:
        _limits[provider] = asyncio.Semaphore(4)
    return _limits[provider]


@app.post("/complete")
async def complete():
    async with limiter(settings.default_provider):
        return {}


@app.post("/embed")
async def embed():
    async with limiter(settings.embedding_provider):
        return {}
""",
    # positional literals, and a tuple of a literal with a literal-only parameter
    """
from fastapi import FastAPI

app = FastAPI()
_counters = {}


def bump(name, step=1):
    _counters[("hits", name)] = _counters.get(("hits", name), 0) + step


@app.get("/a")
def a():
    bump("a")


@app.get("/b")
def b():
    bump("b", step=2)
""",
    # `isinstance(x, Cls)` in a route names the class, it does not construct it: `__init__` does not run
    """
from fastapi import FastAPI

app = FastAPI()
_POOL = {}


def connect(url):
    if url not in _POOL:
        _POOL[url] = object()
    return _POOL[url]


class RemoteDict:
    def __init__(self, url):
        self.conn = connect(url)


@app.get("/kind")
def kind(state):
    return "remote" if isinstance(state, RemoteDict) else "local"
""",
    # a pure ASGI app does its setup only for the lifespan: once per process, not per request
    """
_exporters = []


def start_exporters(config):
    _exporters.append(config)


class Telemetry:
    def __init__(self, app, config):
        self.app, self.config = app, config

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            start_exporters(self.config)
        await self.app(scope, receive, send)
""",
    # a lazy singleton: the branch runs until `init_runtime` sets `_RUNTIME`, once per process
    """
from fastapi import FastAPI

app = FastAPI()
_SHUTDOWN_HOOKS = []
_RUNTIME = None


class Runtime:
    def __init__(self):
        _SHUTDOWN_HOOKS.append(self.close)

    def close(self):
        pass


def init_runtime(runtime):
    global _RUNTIME
    _RUNTIME = runtime


def get_runtime():
    if _RUNTIME is None:
        init_runtime(Runtime())
    return _RUNTIME


@app.get("/status")
def status():
    return {"runtime": id(get_runtime())}
""",
]

#: a lazy registry of providers: only the branch's own name is ever stored
_PROVIDERS = """
from fastapi import FastAPI

app = FastAPI()
_loaded = {}


def provider(name):
    if name in _loaded:
        return _loaded[name]
    if name == "echo":
        _loaded[name] = object()
    elif name in ("upper", "lower"):
        _loaded[name] = str
    else:
        _loaded_other = name
    return _loaded.get(name)


@app.get("/providers/{name}")
def get_provider(name: str):
    return {"known": provider(name) is not None}
"""

VALID.append(Valid(_PROVIDERS))

INVALID = [
    # a pinned key bounds the keys, not the list kept under one of them
    Invalid("""
from collections import defaultdict
from fastapi import FastAPI

app = FastAPI()
HISTORY = defaultdict(list)


@app.post("/events/{kind}")
def record(kind: str, payload: dict):
    if kind == "click":
        HISTORY[kind].append(payload)
""", line=11, message="grows on every request"),
    # the store is in the `else` of the name test: any name a client sends is added
    Invalid(_PROVIDERS.replace("_loaded_other = name", "_loaded[name] = None"), line=15,
            message="Module-level dict `_loaded` grows on every request"),
    # one caller passes what the request sent: the same helper is now keyed per request
    Invalid(_ROSTERS, files={"app/__init__.py": "", "app/routes.py": _ROSTER_ROUTES + """

@router.get("/shelves/{kind}")
async def shelf(kind: str):
    return await rosters.fetch(kind=kind, build=list)
"""}, path="app/rosters.py", line=5, message="grows on every request in `_shelf`"),
    # a literal-only helper that is also a route: the framework passes the request's value
    Invalid("""
from fastapi import FastAPI

app = FastAPI()
_seen = {}


@app.get("/seen/{name}")
def mark(name: str):
    _seen[name] = True


@app.get("/boot")
def boot():
    mark("boot")
""", line=9, message="grows on every request in `mark`"),
    # the forwarding parameter is rebound before the call: no longer what the caller passed
    Invalid("""
from fastapi import FastAPI, Request

app = FastAPI()
_by_agent = {}


def remember(agent):
    _by_agent[agent] = True


def visit(agent, request):
    agent = request.headers.get("user-agent", agent)
    remember(agent)


@app.get("/")
def index(request: Request):
    visit("unknown", request)
""", line=8, message="grows on every request in `remember`"),
    # the same ASGI app, growing the list for every HTTP request
    Invalid("""
_seen_paths = []


def record(scope):
    _seen_paths.append(scope["path"])


class Telemetry:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            pass
        elif scope["type"] == "http":
            record(scope)
        await self.app(scope, receive, send)
""", line=5, message="grows on every request in `record`"),
    # a test imports the registry to empty it between tests: the server never does
    Invalid("""
from fastapi import FastAPI

app = FastAPI()
finished = {}


@app.post("/runs/{run_id}/done")
def done(run_id: str, result: dict):
    finished[run_id] = result
""", files={"app/__init__.py": "", "tests/__init__.py": "", "tests/test_runs.py": (
        "from app.runs import finished\n\n\ndef test_done():\n    finished.clear()\n")},
        path="app/runs.py", line=9, message="Module-level dict `finished` grows on every request"),
]
