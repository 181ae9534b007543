"""LL1xx: SQLAlchemy sessions, connections and engines that are never closed or built per request."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Invalid, Rule, Valid
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics import state
from leaklint.semantics.flow import FunctionIndex

ENTER_CONTEXT = frozenset({"enter_context", "enter_async_context", "push", "callback", "push_async_callback"})

DB_PY = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
"""


class _SessionRule(Rule):
    family = "sessions"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return sa.may_use_sqlalchemy(summary, project)


def _created_sessions(ctx, index: FunctionIndex) -> List[Tuple[cst.Call, sa.Resource]]:
    out = []
    for call in index.all(cst.Call):
        resource = sa.resource_created_by(ctx, call)
        if resource is not None:
            out.append((call, resource))
    return out


def _named_sessions(ctx, index: FunctionIndex) -> Dict[str, Tuple[cst.Call, sa.Resource]]:
    """``db = SessionLocal()`` in this function -> ``{"db": (call, resource)}``."""
    named = {}
    for call, resource in _created_sessions(ctx, index):
        name = flow.assigned_name(index, call)
        if name is not None:
            named[name] = (call, resource)
    return named


def _managed_by_with(index: FunctionIndex, node: cst.CSTNode, name: Optional[str]) -> bool:
    """Inside ``with <resource or closing(resource)> [as name]:``."""
    for with_node in index.enclosing_withs(node):
        for item in with_node.items:
            expr = item.item
            if isinstance(expr, cst.Call) and expr.args:  # closing(db) / contextlib.closing(db)
                expr = expr.args[0].value
            if isinstance(expr, cst.Name) and expr.value == name:
                return True
            if item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == name:
                return True
    return False


def _closes_in_finally(index: FunctionIndex, node: cst.CSTNode, name: str, resource: sa.Resource) -> bool:
    return any(flow.block_calls(t.finalbody, name, resource.close_methods) for t in index.guarding_trys(node))


def _escapes(index: FunctionIndex, name: str) -> bool:
    """Handed to an owner: passed to a call, returned, yielded, stored, aliased or used in ``with``."""
    for load in index.loads(name):
        parent = index.parent.get(load)
        if isinstance(parent, cst.Attribute):
            grand = index.parent.get(parent)
            # db.close passed somewhere (ExitStack.callback(db.close)) also hands it over
            if isinstance(grand, cst.Arg):
                return True
            continue
        if isinstance(parent, (cst.Arg, cst.Return, cst.Yield, cst.WithItem, cst.Element, cst.DictElement,
                               cst.AssignTarget, cst.Assign, cst.AnnAssign, cst.StarredElement,
                               cst.NamedExpr, cst.Await, cst.Tuple, cst.Lambda)):
            return True
    return False


def _close_statement(name: str, resource: sa.Resource) -> str:
    return f"await {name}.close()" if resource.is_async else f"{name}.close()"


def _is_close_statement(stmt: cst.CSTNode, name: str, resource: sa.Resource) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and flow.method_call(stmt.body[0].value, name, resource.close_methods))


class YieldedSessionWithoutFinally(_SessionRule):
    """## What it does
    Finds a generator (a FastAPI yield-dependency such as `get_db`, or a `@contextmanager` helper)
    that creates a SQLAlchemy session or connection and yields it without closing it on every path:
    the `yield` is neither inside `with`/`async with` nor inside a `try` whose `finally` closes it.

    ## Why is this bad?
    When the endpoint raises, FastAPI (and `contextlib`) throws the exception into the generator at
    the `yield`. Code after the `yield`, or in an `except` that re-raises, never reaches `close()`,
    so the session keeps its connection checked out of the pool. A few failing requests exhaust the
    pool (`QueuePool limit of size 5 overflow 10 reached`) and the service hangs.

    ## Example
    ```python
    def get_db():
        db = SessionLocal()
        yield db
        db.close()
    ```

    Use instead:
    ```python
    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()
    ```
    or `with SessionLocal() as db: yield db`.

    ## Fix safety
    The fix wraps the code from the `yield` to the end of the function in `try/finally` and moves an
    existing `close()` into the `finally`. When the function already closed the session after the
    `yield`, only the failure path changes (the session is now closed there too): the fix is **safe**.
    When it never closed the session, the fix adds a close: objects loaded through the session are
    detached when the request ends, which code that keeps using them afterwards may notice, so the
    fix is **unsafe**. `await db.close()` is used for `AsyncSession`.
    """

    code = "LL101"
    name = "yielded-session-without-finally"
    message = "{what} `{var}` is yielded without a `finally` that closes it: it leaks when the request fails"
    fix_title = "Wrap the yield in `try/finally` that closes the session"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        DB_PY.replace("engine = ", "from contextlib import contextmanager\nengine = ") + """
def get_db():
    with SessionLocal() as db:
        yield db
""",
        Valid("""
from app.db import SessionLocal

def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
""", files={"app/__init__.py": "", "app/db.py": DB_PY}, path="app/deps.py"),
        """
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

engine = create_async_engine("sqlite+aiosqlite://")
async_session = async_sessionmaker(engine)

async def get_session():
    async with async_session() as session:
        yield session
""",
        """
from contextlib import closing
from sqlalchemy.orm import Session

def get_db(engine):
    with closing(Session(engine)) as db:
        yield db
""",
        """
from contextlib import ExitStack
from sqlalchemy.orm import Session

def get_db(engine):
    with ExitStack() as stack:
        db = stack.enter_context(Session(engine))
        yield db
""",
        # a local class named like SQLAlchemy's shadows nothing we know
        """
class Session:
    pass

def get_db():
    db = Session()
    yield db
""",
        # the local name shadows the import: not a SQLAlchemy session
        """
from sqlalchemy.orm import Session

def get_db(Session):
    db = Session()
    yield db
""",
        # yields something that is not a session it created
        """
from sqlalchemy.orm import Session

def items(db: Session):
    for row in db.query(1):
        yield row
""",
    ]
    invalid = [
        Invalid(DB_PY + """
def get_db():
    db = SessionLocal()
    yield db
    db.close()
""", line=9, column=5, message="Session `db`", fixed=DB_PY + """
def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()
"""),
        Invalid("""
import sqlalchemy.orm as orm

def get_db(engine):
    db = orm.Session(engine)
    # hand it to the endpoint
    yield db
""", line=6, fixed="""
import sqlalchemy.orm as orm

def get_db(engine):
    db = orm.Session(engine)
    # hand it to the endpoint
    try:
        yield db
    finally:
        db.close()
"""),
        Invalid("""
from sqlalchemy.ext.asyncio import AsyncSession as AS

async def get_session(engine):
    session = AS(engine)
    try:
        yield session
    except Exception:
        await session.rollback()
        raise
""", line=6, fixed="""
from sqlalchemy.ext.asyncio import AsyncSession as AS

async def get_session(engine):
    session = AS(engine)
    try:
        yield session
    except Exception:
        await session.rollback()
        raise
    finally:
        await session.close()
"""),
        Invalid("""
from app.db import SessionLocal

def get_db():
    db = SessionLocal()
    yield db
""", files={"app/__init__.py": "", "app/db.py": DB_PY}, path="app/deps.py", line=5),
        Invalid("""
from contextlib import contextmanager
from sqlmodel import Session

@contextmanager
def session_scope(engine):
    session = Session(engine)
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    session.close()
""", line=8),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or not facts.is_generator or not sa.creates_resources(self.ctx.project, facts.called):
            return
        index = flow.index_of(self.ctx, node)
        created = _named_sessions(self.ctx, index)
        for yield_node in index.all(cst.Yield):
            value = yield_node.value
            if isinstance(value, cst.Name) and value.value in created:
                name = value.value
                call, resource = created[name]
            elif isinstance(value, cst.Call) and sa.resource_created_by(self.ctx, value) is not None:
                continue  # `yield SessionLocal()`: nobody can close it here; LL103 territory
            else:
                continue
            if _managed_by_with(index, yield_node, name) or _closes_in_finally(index, yield_node, name, resource):
                continue
            what = "Session" if resource.kind == "session" else "Connection"
            self.report(yield_node, what=what, var=name, fix=self._fix(node, index, yield_node, name, resource))

    def _fix(self, fn: cst.FunctionDef, index: FunctionIndex, yield_node: cst.Yield, name: str,
             resource: sa.Resource) -> Optional[Fix]:
        statement = index.statement_of(yield_node)
        body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
        close = cst.parse_statement(_close_statement(name, resource), config=self.ctx.module.config_for_parsing)
        position = flow.top_level_index(fn, statement) if statement is not None else None
        if position is not None:  # yield is a statement of the function body: wrap the rest
            rest = body[position:]
            kept = [s for s in rest if not _is_close_statement(s, name, resource)]
            had_close = len(kept) != len(rest)
            first = kept[0]
            try_node = cst.Try(
                body=cst.IndentedBlock(body=[first.with_changes(leading_lines=[])] + kept[1:]),
                finalbody=cst.Finally(body=cst.IndentedBlock(body=[close])),
                leading_lines=first.leading_lines,
            )
            new_body = fn.body.with_changes(body=body[:position] + [try_node])
        else:
            # yield inside a try without finally that is itself a statement of the function body
            try_node = next((a for a in index.ancestors(yield_node) if isinstance(a, cst.Try)), None)
            position = flow.top_level_index(fn, try_node) if try_node is not None else None
            if try_node is None or position is None or try_node.finalbody is not None:
                return None
            after = body[position + 1:]
            if not all(_is_close_statement(s, name, resource) for s in after):
                return None
            had_close = bool(after) or flow.block_calls(try_node.body, name, resource.close_methods)
            new_try = try_node.with_changes(finalbody=cst.Finally(body=cst.IndentedBlock(body=[close])))
            new_body = fn.body.with_changes(body=body[:position] + [new_try])
        applicability = Applicability.SAFE if had_close else Applicability.UNSAFE
        return Fix(self.fix_title or "", applicability, {fn.body: new_body})


class ReturnedSessionDependency(_SessionRule):
    """## What it does
    Finds a FastAPI dependency (used in `Depends(...)` anywhere in the linted code) that *returns* a
    new SQLAlchemy session or connection instead of yielding it.

    ## Why is this bad?
    FastAPI runs cleanup code only for generator dependencies. A returned session is never closed by
    anyone: its connection goes back to the pool only when the garbage collector happens to
    finalise the session, and under load the pool is exhausted first.

    ## Example
    ```python
    def get_db():
        return SessionLocal()
    ```

    Use instead:
    ```python
    def get_db():
        with SessionLocal() as db:
            yield db
    ```

    ## Fix safety
    The fix turns the dependency into a generator that opens the session with `with` (`async with`
    for `AsyncSession`) and yields it. It is **unsafe**: the session is now closed when the request
    ends, and code that called the function directly (not through `Depends`) now gets a generator.
    No fix is offered when the function has a return annotation (it would become wrong) or does more
    than create and return the session.
    """

    code = "LL102"
    name = "returned-session-dependency"
    message = "Dependency `{func}` returns a new {what}: nobody closes it; yield it from `with` instead"
    fix_title = "Yield the session from a `with` block"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        # not a dependency: a factory whose caller owns the session
        DB_PY + """
def make_session():
    return SessionLocal()
""",
        DB_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def get_db():
    with SessionLocal() as db:
        yield db

@app.get("/")
def index(db=Depends(get_db)):
    return {}
""",
        # returns a session it was given, not a new one
        """
from fastapi import Depends
from sqlalchemy.orm import Session

def get_repo(db: Session):
    return db

def route(repo=Depends(get_repo)):
    pass
""",
    ]
    invalid = [
        Invalid(DB_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def get_db():
    return SessionLocal()

@app.get("/")
def index(db=Depends(get_db)):
    return {}
""", line=12, message="Dependency `get_db`", fixed=DB_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def get_db():
    with SessionLocal() as db:
        yield db

@app.get("/")
def index(db=Depends(get_db)):
    return {}
"""),
        # used as a dependency in another module, through Annotated
        Invalid("""
from sqlalchemy.ext.asyncio import AsyncSession

async def get_session(engine=None):
    session = AsyncSession(engine)
    return session
""", files={"app/__init__.py": "", "app/routes.py": """
from typing import Annotated
from fastapi import APIRouter, Depends
from app.deps import get_session

router = APIRouter()
Session = Annotated[object, Depends(get_session)]

@router.get("/")
async def index(session: Session):
    return {}
"""}, path="app/deps.py", line=5, fixed="""
from sqlalchemy.ext.asyncio import AsyncSession

async def get_session(engine=None):
    async with AsyncSession(engine) as session:
        yield session
"""),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or facts.is_generator or not sa.creates_resources(self.ctx.project, facts.called) \
                or not web.roles_of(self.ctx, node).dependency:
            return
        index = flow.index_of(self.ctx, node)
        created = _named_sessions(self.ctx, index)
        for ret in index.all(cst.Return):
            value = ret.value
            if isinstance(value, cst.Call):
                resource = sa.resource_created_by(self.ctx, value)
                if resource is None:
                    continue
                self._report(node, ret, resource, value, None)
            elif isinstance(value, cst.Name) and value.value in created:
                call, resource = created[value.value]
                if flow.block_calls(node.body, value.value, resource.close_methods):
                    continue
                self._report(node, ret, resource, call, value.value)

    def _report(self, fn, ret, resource, call, name) -> None:
        what = "session" if resource.kind == "session" else "connection"
        self.report(ret, func=fn.name.value, what=what, fix=self._fix(fn, ret, resource, call, name))

    def _fix(self, fn: cst.FunctionDef, ret: cst.Return, resource: sa.Resource, call: cst.Call,
             name: Optional[str]) -> Optional[Fix]:
        if fn.returns is not None or not isinstance(fn.body, cst.IndentedBlock):
            return None
        body = list(fn.body.body)
        last = body[-1] if body else None
        if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and last.body[0] is ret):
            return None
        start = len(body) - 1
        if name is not None:
            # `db = Factory()` must be a statement right before the return
            if start == 0:
                return None
            prev = body[start - 1]
            if not (isinstance(prev, cst.SimpleStatementLine) and len(prev.body) == 1
                    and isinstance(prev.body[0], (cst.Assign, cst.AnnAssign)) and prev.body[0].value is call):
                return None
            start -= 1
        var = name or ("connection" if resource.kind != "session" else "session" if resource.is_async else "db")
        config = self.ctx.module.config_for_parsing
        keyword = "async with" if resource.is_async else "with"
        text = f"{keyword} {self.ctx.code(call)} as {var}:\n{config.default_indent}yield {var}\n"
        with_node = cst.parse_statement(text, config=config).with_changes(leading_lines=body[start].leading_lines)
        new_body = fn.body.with_changes(body=body[:start] + [with_node])
        return Fix(self.fix_title or "", Applicability.UNSAFE, {fn.body: new_body})


class UnclosedSession(_SessionRule):
    """## What it does
    Finds a SQLAlchemy session or connection (`Session(...)`, `SessionLocal()`, `AsyncSession(...)`,
    `engine.connect()`, `engine.raw_connection()`) bound to a local variable in a function and not
    closed on every path: no `with`, no `close()` in a `finally`, and not returned, yielded or handed
    to another object that owns it.

    ## Why is this bad?
    An open session holds a pooled connection (and its identity map holds every loaded object). A
    `close()` at the end of the happy path is skipped by any exception, so each failing call leaks a
    connection until the pool is exhausted.

    ## Example
    ```python
    def count_users():
        db = SessionLocal()
        n = db.query(User).count()
        db.close()
        return n
    ```

    Use instead:
    ```python
    def count_users():
        with SessionLocal() as db:
            return db.query(User).count()
    ```

    ## Known problems
    A session handed to any call (`Repository(db)`, `helper(db)`) is assumed to be owned by the callee
    and not reported; the rule prefers a miss to a false alarm.
    """

    code = "LL103"
    name = "unclosed-session"
    message = "{what} `{var}` is {problem}; use `with` or close it in `finally`"

    valid = [
        DB_PY + """
def count():
    with SessionLocal() as db:
        return db.query(1).count()
""",
        DB_PY + """
def count():
    db = SessionLocal()
    try:
        return db.query(1).count()
    finally:
        db.close()
""",
        DB_PY + """
class Repo:
    def __init__(self, db):
        self.db = db

def make_repo():
    db = SessionLocal()
    return Repo(db)
""",
        DB_PY + """
from contextlib import ExitStack

def count():
    with ExitStack() as stack:
        db = SessionLocal()
        stack.callback(db.close)
        return db.query(1).count()
""",
        DB_PY + """
def make():
    db = SessionLocal()
    db.info["x"] = 1
    return db
""",
        # connect() on something that is not a known engine (a websocket, an HTTP client)
        """
def ping(client):
    conn = client.connect()
    conn.send(b"x")
""",
    ]
    invalid = [
        Invalid(DB_PY + """
def count():
    db = SessionLocal()
    n = db.query(1).count()
    db.close()
    return n
""", line=8, column=10, message="closed only on the happy path"),
        Invalid(DB_PY + """
def rows():
    conn = engine.connect()
    return conn.execute("select 1").fetchall()
""", line=8, message="never closed"),
        Invalid("""
from sqlalchemy.ext.asyncio import AsyncSession as AS

async def count(engine):
    session = AS(engine)
    result = await session.execute("select 1")
    return result.scalar()
""", line=4, message="Session `session` is never closed"),
        Invalid("""
from app.db import SessionLocal

def cleanup():
    db = SessionLocal()
    db.execute("delete from t")
    db.commit()
""", files={"app/__init__.py": "", "app/db.py": DB_PY}, path="app/jobs.py", line=4),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or not sa.creates_resources(self.ctx.project, facts.called):
            return
        index = flow.index_of(self.ctx, node)
        for call, resource in _created_sessions(self.ctx, index):
            name = flow.assigned_name(index, call)
            if name is None or len(index.assignments(name)) != 1:
                continue
            if _managed_by_with(index, call, name) or _escapes(index, name):
                continue
            closes = [c for c in index.all(cst.Call) if flow.method_call(c, name, resource.close_methods)]
            if any(index.in_finally(c) for c in closes):
                continue
            problem = "closed only on the happy path" if closes else "never closed"
            what = "Session" if resource.kind == "session" else "Connection"
            self.report(call, what=what, var=name, problem=problem)


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
