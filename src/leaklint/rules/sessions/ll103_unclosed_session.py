"""LL103 unclosed-session: a local session or connection that is not closed on every path."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Invalid
from leaklint.rules.sessions._common import DB_PY, _SessionRule, _created_sessions, _managed_by_with
from leaklint.semantics import flow
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics.flow import FunctionIndex


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
