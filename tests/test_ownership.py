"""The ownership analysis and per-request reachability, on small projects spread over modules."""

from test_semantics import project

from leaklint.semantics.callgraph import request_path

DB = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
"""


def build(tmp_path, files):
    """The project facts of ``files``, each folder a regular package."""
    packages = {str(p.parent.relative_to(tmp_path)) for p in (tmp_path / r for r in files) if p.parent != tmp_path}
    return project(tmp_path, {**{f"{d}/__init__.py": "" for d in packages}, **files})[1]


def test_returned_and_yielded_resources_across_modules(tmp_path):
    facts = build(tmp_path, {
        "app/db.py": DB + '''
from functools import lru_cache
import httpx

def new_session():
    db = SessionLocal()
    return db

def get_factory():
    return SessionLocal

def build_factory(url):
    return sessionmaker(bind=create_engine(url))

def generate_session():
    with SessionLocal() as s:
        yield s

def raw_generator():
    s = SessionLocal()
    yield s

def conn():
    return engine.connect()

@lru_cache
def client():
    return httpx.Client()

def fresh_client():
    return httpx.AsyncClient()

_shared = None

def lazy_client():
    global _shared
    if _shared is None:
        _shared = httpx.AsyncClient()
    return _shared
''',
        "app/helpers.py": '''
from app.db import new_session, get_factory

def wrapped():
    return new_session()

def from_factory():
    return get_factory()()
''',
    })
    own = facts.ownership
    assert own.returns["app.db.new_session"] == ("session", False)
    assert own.returns["app.helpers.wrapped"] == ("session", False)  # through another module
    assert own.returns["app.helpers.from_factory"] == ("session", False)  # get_factory()()
    assert own.factories["app.db.get_factory"] == ("session", False)
    assert own.factories["app.db.build_factory"] == ("session", False)
    assert own.returns["app.db.conn"] == ("connection", False)
    assert own.returns["app.db.fresh_client"] == ("http-client", True)
    assert "app.db.client" not in own.returns  # cached: one object for the process
    assert "app.db.lazy_client" not in own.returns  # a lazily made module singleton
    assert own.yields["app.db.raw_generator"] == ("session", False)
    assert "app.db.generate_session" not in own.yields  # yields a session `with` closes: still yields one
    assert "app.db.generate_session" not in own.returns


def test_parameters_released_borrowed_or_owned(tmp_path):
    facts = build(tmp_path, {
        "app/util.py": '''
import json

def _safe_close(session):
    try:
        session.close()
    except Exception:
        pass

def close_later(stack, db):
    stack.callback(db.close)

def count(db, model):
    return db.query(model).count()

def log_and_count(db):
    print(db)
    return count(db, 1)

def dump(data, handle):
    json.dump(data, handle)

def shutdown(db):
    _safe_close(db)

class Repo:
    def __init__(self, db):
        self.db = db

def keep(db, registry):
    registry.append(db)
''',
    })
    own = facts.ownership
    assert own.releases["app.util._safe_close"] == frozenset({0})
    assert own.releases["app.util.shutdown"] == frozenset({0})  # through a helper
    assert 0 in own.borrows["app.util.count"]
    assert 0 in own.borrows["app.util.log_and_count"]  # a borrower of a borrower
    assert 1 in own.borrows["app.util.dump"]  # json.dump only uses the handle
    assert 1 not in own.borrows["app.util.close_later"] and 1 not in own.releases["app.util.close_later"]
    assert 1 not in own.borrows["app.util.Repo.__init__"]  # stored: the object owns it
    assert 0 not in own.borrows["app.util.keep"]


def test_per_request_reachability_across_modules_and_classes(tmp_path):
    facts = build(tmp_path, {
        "app/store.py": '''
from sqlalchemy import create_engine

class Store:
    def __init__(self, url):
        self.engine = create_engine(url)
        self._warm()

    def _warm(self):
        pass

    def rows(self):
        return []

    def flush(self):
        pass

def get_store():
    return Store("sqlite://")

shared = Store("sqlite://")

def unused():
    pass
''',
        "app/routes.py": '''
from fastapi import APIRouter, BackgroundTasks
from app.store import get_store, shared, Store

router = APIRouter()

def send_mail():
    pass

@router.get("/items")
def items(tasks: BackgroundTasks):
    s = Store("x")
    s.rows()
    tasks.add_task(send_mail)
    shared.flush()
    return get_store()
''',
    })
    reached = facts.per_request
    assert "app.store.Store.flush" in reached  # through the module-level instance `shared`
    for name in ("app.routes.items", "app.store.get_store", "app.store.Store.__init__", "app.store.Store._warm",
                 "app.store.Store.rows", "app.routes.send_mail"):
        assert name in reached, name
    assert "app.store.unused" not in reached
    path = request_path(facts, "app.store.Store._warm")
    assert path.startswith("GET /items -> ") and path.endswith("`Store._warm()`"), path


def test_routes_in_app_factories_router_classes_and_dependency_factories(tmp_path):
    facts = build(tmp_path, {
        "app/factory.py": '''
from fastapi import APIRouter, Depends, FastAPI

def require_role(role):
    async def checker():
        return role
    return checker

def create_app():
    app = FastAPI()

    @app.get("/health")
    def health():
        return {}

    @app.get("/admin", dependencies=[Depends(require_role("admin"))])
    def admin():
        return {}
    return app

class ItemsRouter:
    def __init__(self):
        self.router = APIRouter()
        self.router.add_api_route("/items", self.list_items, methods=["GET"])

    def list_items(self):
        return self._load()

    def _load(self):
        return []

    def unrelated(self):
        pass
''',
    })
    reached = facts.per_request
    assert "app.factory.create_app.health" in reached
    assert facts.root_labels["app.factory.create_app.health"] == "GET /health"
    assert "app.factory.require_role.checker" in reached
    assert "app.factory.ItemsRouter.list_items" in reached and "app.factory.ItemsRouter._load" in reached
    assert "app.factory.ItemsRouter.unrelated" not in reached
    assert "app.factory.create_app" not in reached  # the factory runs once, at startup


_ENGINES = "from sqlalchemy import create_engine\n\n\ndef make_engine(url):\n    return create_engine(url)\n"


def _items_route(engines_module):
    return (f"from fastapi import FastAPI\nfrom {engines_module} import make_engine\n\n"
            "app = FastAPI()\n\n\n@app.get('/items')\ndef items():\n    return str(make_engine('sqlite://').url)\n")


def test_package_in_a_namespace_folder_resolves_under_both_names(tmp_path):
    """``keep/`` without ``__init__.py`` holding regular packages: modules import each other as
    ``keep.db.engines`` while the files are named from their own package (``db.engines``)."""
    from rules._cli import findings, runner

    files = {
        "keep/db/__init__.py": "",
        "keep/db/engines.py": _ENGINES,
        "keep/api/__init__.py": "",
        "keep/api/routes.py": _items_route("keep.db.engines"),
    }
    facts = project(tmp_path, files)[1]
    assert facts.canonical("keep.db.engines.make_engine") == "db.engines.make_engine"
    assert "db.engines.make_engine" in facts.per_request
    result = runner()(".", cwd=tmp_path)
    assert [f for f in findings(result.stdout) if f[2] == "LL104"] == [("engines.py", 5, "LL104")], result.stdout


def test_package_under_a_namespace_folder_inside_a_regular_package(tmp_path):
    """``app/tasks/chat/`` without ``__init__.py`` between the regular ``app.tasks`` and the regular
    ``streaming`` package: the project imports ``app.tasks.chat.streaming.engines``."""
    files = {
        "app/__init__.py": "",
        "app/tasks/__init__.py": "",
        "app/tasks/chat/streaming/__init__.py": "",
        "app/tasks/chat/streaming/engines.py": _ENGINES,
        "app/routes.py": _items_route("app.tasks.chat.streaming.engines"),
    }
    facts = project(tmp_path, files)[1]
    assert facts.canonical("app.tasks.chat.streaming.engines.make_engine") == "streaming.engines.make_engine"
    assert "streaming.engines.make_engine" in facts.per_request


def test_a_route_decorator_applied_by_hand_registers_the_endpoint(tmp_path):
    """``kb_router.post("/docs", summary=...)(upload_docs)`` in another module is a route; a dispatch
    table's ``handlers.get("a")(fn)`` is not."""
    files = {
        "app/__init__.py": "",
        "app/docs.py": "def upload_docs(file):\n    return file\n\n\ndef render(doc):\n    return doc\n",
        "app/routes.py": (
            "from fastapi import APIRouter\n"
            "from app.docs import render, upload_docs\n\n"
            "kb_router = APIRouter(prefix='/kb')\n"
            "kb_router.post('/docs', summary='Upload')(upload_docs)\n"
            "handlers = {'a': print}\n"
            "handlers.get('a')(render)\n"),
    }
    facts = project(tmp_path, files)[1]
    assert facts.root_labels["app.docs.upload_docs"] == "POST /docs"
    assert "app.docs.render" not in facts.per_request


def test_self_calls_reach_inherited_methods_and_subclass_overrides(tmp_path):
    """A pure-ASGI base whose ``__call__`` calls ``self.handle_http``: every subclass's override runs
    per request; ``self.helper()`` defined only on the base is the base's."""
    files = {
        "app/__init__.py": "",
        "app/base.py": (
            "class BaseMiddleware:\n"
            "    def __init__(self, app):\n        self.app = app\n\n"
            "    async def __call__(self, scope, receive, send):\n"
            "        await self.handle_http(scope, receive, send)\n\n"
            "    async def handle_http(self, scope, receive, send):\n        raise NotImplementedError\n\n"
            "    def headers(self, scope):\n        return dict(scope['headers'])\n"),
        "app/audit.py": (
            "from app.base import BaseMiddleware\n\n\n"
            "class Audit(BaseMiddleware):\n"
            "    async def handle_http(self, scope, receive, send):\n"
            "        self.headers(scope)\n        await self.app(scope, receive, send)\n\n"
            "    def unused(self):\n        return 1\n"),
    }
    reached = project(tmp_path, files)[1].per_request
    assert "app.audit.Audit.handle_http" in reached and "app.base.BaseMiddleware.headers" in reached
    assert "app.audit.Audit.unused" not in reached


def test_the_frameworks_own_routing_classes_are_no_middleware(tmp_path):
    """Linting starlette and fastapi themselves: ``BaseRoute.__call__`` dispatches to routes (roots of
    their own); its ``self.handle`` overrides are not per-request middleware code."""
    files = {
        "starlette/__init__.py": "",
        "starlette/routing.py": (
            "class BaseRoute:\n"
            "    async def __call__(self, scope, receive, send):\n"
            "        await self.handle(scope, receive, send)\n\n"
            "    async def handle(self, scope, receive, send):\n        raise NotImplementedError\n"),
        "fastapi/__init__.py": "",
        "fastapi/routing.py": (
            "from starlette.routing import BaseRoute\n\n\n"
            "class Group(BaseRoute):\n"
            "    async def handle(self, scope, receive, send):\n        return scope\n"),
    }
    facts = project(tmp_path, files)[1]
    assert "starlette.routing.BaseRoute.__call__" not in facts.per_request
    assert "fastapi.routing.Group.handle" not in facts.per_request
