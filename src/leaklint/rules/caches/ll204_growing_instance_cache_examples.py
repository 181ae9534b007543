"""LL204's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid
from leaklint.rules.caches.ll204_app_factory_examples import APP_FACTORY_INVALID, APP_FACTORY_VALID
from leaklint.rules.caches.ll204_existing_key_examples import EXISTING_KEY_INVALID, EXISTING_KEY_VALID
from leaklint.rules.caches.ll204_main_guard_examples import MAIN_GUARD_INVALID, MAIN_GUARD_VALID, TRACKER_CLASS

VALID = [
    # the connection manager idiom: connect and disconnect
    """
from fastapi import WebSocket

class ConnectionManager:
    def __init__(self):
        self.active: list[WebSocket] = []

    async def connect(self, ws: WebSocket):
        self.active.append(ws)

    def disconnect(self, ws: WebSocket):
        self.active.remove(ws)

manager = ConnectionManager()
""",
    # per-request object: dies with the request
    """
class Collector:
    def __init__(self):
        self.items = []

    def add(self, item):
        self.items.append(item)

def handle(rows):
    c = Collector()
    for r in rows:
        c.add(r)
    return c.items
""",
    # decorator registration at import time
    """
class Router:
    def __init__(self):
        self.routes = {}

    def route(self, path):
        def decorator(fn):
            self.routes[path] = fn
            return fn
        return decorator

router = Router()

@router.route("/")
def index():
    pass
""",
    # per-request object stored on request.state (not app.state)
    """
class FilterContext:
    def __init__(self):
        self.valves = {}

    def get(self, key):
        if key not in self.valves:
            self.valves[key] = object()
        return self.valves[key]

def get_filter_context(request):
    request.state.filter_context = FilterContext()
    return request.state.filter_context
""",
    # registration at startup: the lifespan subscribes once, no request does
    """
from contextlib import asynccontextmanager
from fastapi import FastAPI

class EventBus:
    def __init__(self):
        self.listeners = []

    def subscribe(self, callback):
        self.listeners.append(callback)

bus = EventBus()

@asynccontextmanager
async def lifespan(app):
    bus.subscribe(print)
    yield

app = FastAPI(lifespan=lifespan)

@app.get("/")
def index():
    return {"listeners": len(bus.listeners)}
""",
    # keyed like the constructor's loop over the configuration: one client per provider
    """
from fastapi import FastAPI

PROVIDERS = {"github": {}, "google": {}}

class OAuthClients:
    def __init__(self):
        self._clients = {}
        for name in PROVIDERS:
            self._clients[name] = object()

    def get(self, name):
        if name not in self._clients:
            self._clients[name] = object()
        return self._clients[name]

clients = OAuthClients()
app = FastAPI()

@app.get("/oauth/{provider}/login")
def login(provider: str):
    return {"client": str(clients.get(provider))}
""",
    # a library singleton filled by configuration code (no web framework in sight)
    """
class Environ:
    def __init__(self):
        self._read = set()

    def __getitem__(self, key):
        self._read.add(key)
        return key

environ = Environ()
""",
    # growth inside one-time lazy initialisation
    """
class Router:
    def __init__(self):
        self.routes = []
        self._frontend = None

    def frontend(self, path):
        if self._frontend is None:
            self._frontend = object()
            self.routes.append(self._frontend)

router = Router()
""",
    # bounded by a size check; weak set
    """
import weakref

class Cache:
    def __init__(self):
        self.data = {}
        self.watchers = weakref.WeakSet()

    def put(self, key, value):
        if len(self.data) > 100:
            self.data.clear()
        self.data[key] = value

    def watch(self, w):
        self.watchers.add(w)

cache = Cache()
""",
]
INVALID = [
    Invalid("""
from fastapi import FastAPI

class EventBus:
    def __init__(self):
        self.listeners = []

    def subscribe(self, callback):
        self.listeners.append(callback)

app = FastAPI()
bus = EventBus()

@app.websocket("/events")
async def events(ws):
    bus.subscribe(ws.send_json)
""", line=8, column=9, message="`self.listeners` of `EventBus` only grows, in `subscribe`, which runs per request (WEBSOCKET /events"),
    # FastAPI singleton dependency
    Invalid("""
from functools import lru_cache as memo
from fastapi import Depends, FastAPI

app = FastAPI()

class UserCache:
    def __init__(self):
        self._users = {}

    def get(self, user_id):
        if user_id not in self._users:
            self._users[user_id] = {"id": user_id}
        return self._users[user_id]

@memo
def get_user_cache():
    return UserCache()

@app.get("/users/{user_id}")
def read_user(user_id: int, users: UserCache = Depends(get_user_cache)):
    return users.get(user_id)
""", line=12, message="cached factory"),
    # stored on app.state in the lifespan
    Invalid("""
from contextlib import asynccontextmanager
from fastapi import FastAPI, Request

class Metrics:
    def __init__(self):
        self.samples = []

    def record(self, value):
        self.samples += [value]

@asynccontextmanager
async def lifespan(app):
    app.state.metrics = Metrics()
    yield

app = FastAPI(lifespan=lifespan)

@app.post("/samples")
def record(value: float, request: Request):
    request.app.state.metrics.record(value)
""", line=9, message="stored on `app.state`"),
    # instantiated at module level in another linted module
    Invalid(TRACKER_CLASS, files={"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\nfrom app.tracker import Tracker\n\napp = FastAPI()\ntracker = Tracker()\n\n"
                                                         "@app.get('/{key}')\ndef hit(key: str):\n    tracker.hit(key)\n"},
        path="app/tracker.py", line=6, message="module-level instance"),
    # the singleton dependency lives in another module than the class and the route
    Invalid("""
class RateBook:
    def __init__(self):
        self.hits = {}

    def hit(self, client: str):
        self.hits[client] = self.hits.get(client, 0) + 1
""", files={"app/__init__.py": "",
            "app/deps.py": "from functools import lru_cache\nfrom app.book import RateBook\n\n\n"
                           "@lru_cache\ndef get_book():\n    return RateBook()\n",
            "app/main.py": "from fastapi import Depends, FastAPI\nfrom app.book import RateBook\n"
                           "from app.deps import get_book\n\napp = FastAPI()\n\n\n"
                           "@app.get('/')\ndef index(client: str, book: RateBook = Depends(get_book)):\n"
                           "    book.hit(client)\n"},
        path="app/book.py", line=6, column=9, message="(cached factory)"),
    # the first method that grows it runs at startup only; a later one grows it on every request
    Invalid("""
import asyncio
from fastapi import FastAPI

class TurnGate:
    def __init__(self):
        self._cancel = {}

    def preload(self, names):
        for name in names:
            self._cancel[name] = asyncio.Event()

    def cancel(self, thread_id):
        self._cancel[thread_id] = asyncio.Event()

gate = TurnGate()
app = FastAPI()

@app.post("/threads/{thread_id}/cancel")
def cancel(thread_id: str):
    gate.cancel(thread_id)
""", line=13, column=9, message="`self._cancel` of `TurnGate` only grows, in `cancel`"),
]
VALID += MAIN_GUARD_VALID + EXISTING_KEY_VALID + APP_FACTORY_VALID
INVALID += MAIN_GUARD_INVALID + EXISTING_KEY_INVALID + APP_FACTORY_INVALID
