"""LL101 yielded-session-without-finally: a generator yields a session it does not close when the request fails."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Invalid, Valid
from leaklint.rules.sessions._common import DB_PY, HELPERS, _SessionRule, _managed_by_with, _named_sessions
from leaklint.semantics import flow, obligations
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics.flow import FunctionIndex


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
        Valid("""
from app.sessions import _safe_close, new_session

def get_db():
    db = new_session()
    try:
        yield db
    finally:
        _safe_close(db)
""", files=HELPERS, path="app/deps.py"),
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
        Invalid("""
from app.sessions import new_session

def get_db():
    db = new_session()
    yield db
""", files=HELPERS, path="app/deps.py", line=5, fixed="""
from app.sessions import new_session

def get_db():
    db = new_session()
    try:
        yield db
    finally:
        db.close()
"""),
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
            if _managed_by_with(index, yield_node, name) or obligations.released_in_finally(
                    self.ctx, index, yield_node, name, resource.close_methods):
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
