"""LL201's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

VALID = [
    # keys from a bounded domain: an Enum, a Literal, a bool
    Valid("""
from typing import Literal
from fastapi import FastAPI
from app.kinds import Color

app = FastAPI()
_by_color = {}
_by_mode = {}
_by_flag = {}

@app.get("/paint/{color}")
def paint(color: Color, mode: Literal["fast", "slow"] = "fast", dry: bool = False):
    _by_color.setdefault(color, []).append(1)
    _by_mode[mode] = _by_mode.get(mode, 0) + 1
    _by_flag[dry] = True
    return {}
""", files={"app/__init__.py": "", "app/kinds.py": "import enum\n\n\nclass Color(str, enum.Enum):\n    RED = 'red'\n"},
        path="app/main.py"),
    # one replaced entry per tenant-level entity (an organisation, a workspace): as many as customers
    """
import time
from fastapi import FastAPI

app = FastAPI()
_last_prune = {}
_flags = {}

@app.get("/orgs/{organization_id}/agents")
async def agents(organization_id: str):
    if time.monotonic() - _last_prune.get(organization_id, 0) > 600:
        _last_prune[organization_id] = time.monotonic()
    return []

@app.get("/workspaces/{workspace_id}/enabled")
async def enabled(workspace_id: int):
    cached = _flags.get(workspace_id)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    _flags[workspace_id] = (True, time.monotonic() + 60)
    return True
""",
    # decorator registry: filled when the decorated functions are imported
    """
HANDLERS = {}

def handler(name):
    def decorator(fn):
        HANDLERS[name] = fn
        return fn
    return decorator

@handler("ping")
def ping():
    return "pong"
""",
    # filled by calls at module level
    """
ROUTES = []

def add_route(path):
    ROUTES.append(path)

add_route("/")
add_route("/health")
""",
    # a cache with eviction
    """
from fastapi import FastAPI

app = FastAPI()
_cache = {}

@app.get("/items/{key}")
def item(key: str):
    if key not in _cache:
        if len(_cache) > 1000:
            _cache.clear()
        _cache[key] = key.upper()
    return _cache[key]
""",
    # bounded deque, weak containers, read-only table
    """
import collections
import weakref
from fastapi import FastAPI

app = FastAPI()
history = collections.deque(maxlen=100)
recent = collections.deque([], 50)
live = weakref.WeakValueDictionary()
CODES = {"a": 1}

@app.get("/")
def index(q: str):
    history.append(q)
    recent.append(q)
    live[q] = object()
    return CODES.get(q)
""",
    # the local name shadows the module container
    """
from fastapi import FastAPI

app = FastAPI()
seen = []

@app.get("/")
def index(q: str):
    seen = []
    seen.append(q)
    return seen
""",
    # cleared from another linted module
    Valid("""
from fastapi import FastAPI

app = FastAPI()
SEEN = set()

@app.get("/")
def index(q: str):
    SEEN.add(q)
""", files={"app/__init__.py": "", "app/admin.py": """
from app.main import SEEN

def reset():
    SEEN.clear()
"""}, path="app/main.py"),
    # pruned by rebinding through `global`
    """
from fastapi import FastAPI

app = FastAPI()
events = []

@app.post("/event")
async def event(e: dict):
    global events
    events.append(e)
    events = events[-100:]
""",
    # a plain helper that appends (not per request, not a memo): not reported
    """
errors = []

def collect(error):
    errors.append(error)
""",
    # constant keys: a fixed set of entries (lazily initialised singletons)
    """
from fastapi import FastAPI

app = FastAPI()
STATE = {}

@app.get("/")
def index():
    if "client" not in STATE:
        STATE["client"] = object()
    STATE["hits", "total"] = 1
    return {}
""",
    # a memo keyed by configuration in a plain helper: not per request
    """
_TYPE_ADAPTERS = {}

def adapter_for(tp):
    if tp not in _TYPE_ADAPTERS:
        _TYPE_ADAPTERS[tp] = object()
    return _TYPE_ADAPTERS[tp]
""",
    # class registry through __init_subclass__
    """
PLUGINS = {}

class Plugin:
    def __init_subclass__(cls, **kwargs):
        PLUGINS[cls.__name__] = cls
""",
    # an accumulator called only at import time is registration, and one that is cleared is bounded
    """
plugins = []
pending = []

def register(plugin):
    global plugins
    plugins.append(plugin)

register("a")
register("b")

def queue(item):
    global pending
    pending.append(item)

def flush():
    pending.clear()
""",
]


INVALID = [
    # a list per organisation that every request appends to: growth per request, not per tenant
    Invalid("""
from fastapi import FastAPI

app = FastAPI()
_events = {}

@app.post("/orgs/{org_id}/events")
def record(org_id: str, event: dict):
    _events.setdefault(org_id, []).append(event)
    return {}
""", line=8, message="grows on every request in `record`"),
    Invalid("""
from fastapi import FastAPI

app = FastAPI()
_users = {}

@app.get("/users/{user_id}")
def get_user(user_id: int):
    if user_id not in _users:
        _users[user_id] = {"id": user_id}
    return _users[user_id]
""", line=9, column=9, message="Module-level dict `_users` grows on every request in `get_user`"),
    # a helper called by a middleware, with an aliased import of defaultdict
    Invalid("""
from collections import defaultdict as dd
from fastapi import FastAPI, Request

app = FastAPI()
_hits = dd(list)

def record(user, path):
    _hits[user].append(path)

@app.middleware("http")
async def track(request: Request, call_next):
    record(request.client.host, request.url.path)
    return await call_next(request)
""", line=8, message="grows on every request in `record`"),
    Invalid("""
from collections import deque
from fastapi import APIRouter

router = APIRouter()
log = deque()

@router.post("/log")
async def add(line: str):
    log.append(line)
""", line=9, message="use a `collections.deque(maxlen=...)`"),
    # reached per request through a dependency defined in another module
    Invalid("""
seen_tokens = set()

def check_token(token: str):
    seen_tokens.add(token)
    return token
""", files={"app/__init__.py": "", "app/routes.py": """
from fastapi import APIRouter, Depends
from app.security import check_token

router = APIRouter()

@router.get("/")
def index(token=Depends(check_token)):
    return {}
"""}, path="app/security.py", line=4, message="in `check_token`"),
    # the seeds' accumulator: every call adds a dataframe, nothing ever takes one away
    Invalid("""
data_cache = []

def load_data(frame):
    global data_cache
    data_cache.append(frame)
""", line=5, message="Module-level list `data_cache` grows on every call in `load_data`"),
    # rebinding to a bigger copy under `global`, in a helper that a route of another module calls
    Invalid("""
_history = []


def record(item):
    global _history
    _history = _history + [item]
""", files={"app/__init__.py": "", "app/main.py": (
        "from fastapi import FastAPI\nfrom app.history import record\n\napp = FastAPI()\n\n\n"
        "@app.post('/events/{name}')\ndef event(name: str):\n    record(name)\n")},
        path="app/history.py", line=6, column=5,
        message="grows on every request in `record` (POST /events/{name} -> `record()`)"),
]
