"""LL104 engine-created-per-request: `create_engine` in code that runs on every request."""

from __future__ import annotations

import libcst as cst

from leaklint.rules.sessions.ll104_engine_created_per_request_examples import FALLBACK_INVALID, FALLBACK_VALID
from leaklint.rule import Invalid, Valid
from leaklint.rules.sessions._common import _SessionRule
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics import state


class EngineCreatedPerRequest(_SessionRule):
    """## What it does
    Finds `create_engine(...)` / `create_async_engine(...)` called in code that runs for every
    request: a route handler, a dependency, a middleware, or any function they reach through calls
    in any module (a helper, a factory, the `__init__` of a class instantiated per request). The
    message names the path, for example `GET /items -> get_store() -> Store.__init__()`.

    ## Why is this bad?
    Each engine owns a connection pool. Creating one per request opens new connections every time
    and keeps the old pools (and their connections) alive until garbage collection: memory and
    database connections grow with traffic.

    ## Example
    ```python
    @app.get("/users")
    def users():
        engine = create_engine(DATABASE_URL)
        with Session(engine) as db:
            return db.query(User).all()
    ```

    Use instead: create the engine once at module level (or in a cached zero-argument factory,
    `@lru_cache def get_engine(): ...`) and reuse it.

    ## Known problems
    An engine memoised by hand is recognised when the function stores it in a module-level or
    instance container or attribute (`_engines[url] = engine`, `_engines.setdefault(url, ...)`,
    `global engine`); a memo kept some other way is reported.
    """

    code = "LL104"
    name = "engine-created-per-request"
    message = ("`{callee}` runs on every request in `{func}` ({path}): create the engine once at module level "
               "and reuse it")

    valid = [
        """
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()
engine = create_engine("sqlite://")

@app.get("/")
def index():
    with engine.connect() as conn:
        return {}
""",
        """
from functools import lru_cache
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine

app = FastAPI()

@lru_cache
def get_engine():
    return create_engine("sqlite://")

@app.get("/")
def index(engine=Depends(get_engine)):
    return {}
""",
        # startup code, not per request
        """
from sqlalchemy import create_engine

def init_db(url):
    engine = create_engine(url)
    return engine
""",
        # lazily initialised global: created once
        """
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()
engine = None

@app.get("/")
def index():
    global engine
    if engine is None:
        engine = create_engine("sqlite://")
    return {}
""",
        # one engine per database URL, memoised in a module dict under a lock
        """
import threading
from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()
_engines = {}
_lock = threading.Lock()

def engine_for(url):
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = create_engine(url)
            _engines[url] = engine
        return engine

def engine_for_tenant(url):
    return _engines.setdefault(url, create_engine(url))

@app.get("/{tenant}")
def index(tenant: str):
    engine_for(tenant)
    engine_for_tenant(tenant)
    return {}
""",
        # the caller memoises what the helper builds in a module global: built once
        """
from fastapi import Depends, FastAPI
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

app = FastAPI()
_engine = None

def _build_engine():
    return create_engine("sqlite://")

def get_engine():
    global _engine
    if _engine is None:
        _engine = _build_engine()
    return _engine

def get_db():
    with Session(get_engine()) as db:
        yield db

@app.get("/")
def index(db=Depends(get_db)):
    return {}
""",
        # a cached factory in another module: its body runs once, whoever calls it per request
        Valid("""
from fastapi import FastAPI
from app.engines import get_engine

app = FastAPI()

@app.get("/")
def index():
    return get_engine().url
""", files={"app/__init__.py": "", "app/engines.py": """
from functools import lru_cache
from sqlalchemy import create_engine

@lru_cache
def get_engine():
    return make()

def make():
    return create_engine("sqlite://")
"""}, path="app/main.py"),
        Valid("""
from functools import lru_cache
from sqlalchemy import create_engine

@lru_cache
def get_engine():
    return make()

def make():
    return create_engine("sqlite://")
""", files={"app/__init__.py": "", "app/main.py": """
from fastapi import FastAPI
from app.engines import get_engine

app = FastAPI()

@app.get("/")
def index():
    return get_engine().url
"""}, path="app/engines.py"),
    ] + FALLBACK_VALID
    invalid = [
        Invalid("""
from fastapi import FastAPI
import sqlalchemy as sa

app = FastAPI()

@app.get("/users")
def users():
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        return {}
""", line=8, column=14, message="`create_engine`"),
        Invalid("""
from fastapi import APIRouter, Depends
from sqlalchemy.ext.asyncio import create_async_engine, AsyncSession

router = APIRouter()

def make_engine():
    return create_async_engine("sqlite+aiosqlite://")

async def get_session():
    async with AsyncSession(make_engine()) as session:
        yield session

@router.get("/")
async def index(session=Depends(get_session)):
    return {}
""", line=7, message="in `make_engine`"),
        # a class built per request creates an engine in `__init__`, in another module
        Invalid("""
from sqlalchemy import create_engine

class Store:
    def __init__(self, url):
        self.engine = create_engine(url)

    def rows(self):
        return []

def get_store():
    return Store("sqlite://")
""", files={"app/__init__.py": "", "app/routes.py": """
from fastapi import APIRouter
from app.store import get_store

router = APIRouter()

@router.get("/items")
def items():
    return get_store().rows()
"""}, path="app/store.py", line=5, column=23,
            message="(GET /items -> `get_store()` -> `Store.__init__()`)"),
    ] + FALLBACK_INVALID

    def visit_Call(self, node: cst.Call) -> None:
        if not sa.is_engine_factory_call(self.ctx, node):
            return
        fn = self.ctx.current_function()
        if fn is None or not web.runs_per_request(self.ctx, fn) or any(state.cache_decorators(self.ctx, fn)):
            return
        if self._memoised(fn, node):
            return
        callee = sorted(self.ctx.qualify(node.func))[0].rpartition(".")[2]
        self.report(node, callee=callee, func=fn.name.value, path=web.request_path(self.ctx, fn))

    def _memoised(self, fn: cst.FunctionDef, node: cst.Call) -> bool:
        """Kept for later calls: on an object (outside ``__init__``), in a container, in a global."""
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Arg):
            call = self.ctx.parent(parent)
            return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                call.func.attr.value == "setdefault"
        if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1):
            return False
        target = parent.targets[0].target
        if isinstance(target, cst.Subscript):
            return True
        if isinstance(target, cst.Attribute):
            # ``self.engine = create_engine()`` in ``__init__`` of a class built per request is per request
            return fn.name.value != "__init__"
        if not isinstance(target, cst.Name):
            return False
        facts = self.ctx.function_facts(fn)
        if facts is not None and target.value not in facts.shadowed and target.value in self.ctx.summary.definitions:
            return True  # `global engine; engine = create_engine(...)`: a lazily created singleton
        index = flow.index_of(self.ctx, fn)
        for load in index.loads(target.value):
            value_of = index.parent.get(load)
            if isinstance(value_of, cst.Assign) and value_of.value is load and any(
                    isinstance(t.target, (cst.Subscript, cst.Attribute)) for t in value_of.targets):
                return True  # `_engines[url] = engine`
        return False
