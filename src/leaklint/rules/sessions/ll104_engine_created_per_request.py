"""LL104 engine-created-per-request: `create_engine` in code that runs on every request."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Invalid
from leaklint.rules.sessions._common import _SessionRule
from leaklint.semantics import fastapi as web
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics import state


class EngineCreatedPerRequest(_SessionRule):
    """## What it does
    Finds `create_engine(...)` / `create_async_engine(...)` called in code that runs for every
    request: a route handler, a dependency, a middleware, or a function of the same module they call.

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
    """

    code = "LL104"
    name = "engine-created-per-request"
    message = "`{callee}` runs on every request in `{func}`: create the engine once at module level and reuse it"

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
    ]
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
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not sa.is_engine_factory_call(self.ctx, node):
            return
        fn = self.ctx.current_function()
        if fn is None or not web.runs_per_request(self.ctx, fn) or any(state.cache_decorators(self.ctx, fn)):
            return
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target = parent.targets[0].target
            facts = self.ctx.function_facts(fn)
            if isinstance(target, (cst.Attribute, cst.Subscript)):
                return  # cached on an object
            if isinstance(target, cst.Name) and facts is not None and target.value not in facts.shadowed and \
                    target.value in self.ctx.summary.definitions:
                return  # `global engine; engine = create_engine(...)`: a lazily created singleton
        callee = sorted(self.ctx.qualify(node.func))[0].rpartition(".")[2]
        self.report(node, callee=callee, func=fn.name.value)
