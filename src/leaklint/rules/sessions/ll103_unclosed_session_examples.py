"""LL103's examples: sessions whose life spreads over helpers, modules and middleware."""

from leaklint.rule import Invalid, Valid
from leaklint.rules.sessions._common import DB_PY, HELPERS, PKG

VALID = [
    # the same factory-from-a-helper session, closed by `with`
    """
from fastapi import FastAPI, Request
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

app = FastAPI()
ENGINE = create_engine("sqlite://")


def session_factory(engine):
    return sessionmaker(bind=engine)


def api_session():
    factory = session_factory(ENGINE)
    return factory()


@app.middleware("http")
async def audit(request: Request, call_next):
    with api_session() as db:
        db.execute(text("insert into audit values (1)"))
    return await call_next(request)
""",
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
    # closed in `finally` by a helper of another module that receives it
    Valid("""
from app.sessions import _safe_close, count, new_session

def purge():
    db = new_session()
    try:
        return count(db, 1)
    finally:
        _safe_close(db)
""", files=HELPERS, path="app/jobs.py"),
    # the factory's product, managed by `with`
    Valid("""
from app.sessions import get_factory

def purge():
    with get_factory()() as db:
        db.execute("delete from t")
""", files=HELPERS, path="app/jobs.py"),
    # handed to a project object that keeps it: the object owns it now
    Valid("""
from app.sessions import Repo, new_session

def make_repo():
    db = new_session()
    return Repo(db)
""", files=HELPERS, path="app/jobs.py"),
    # returned to the caller, who holds the obligation
    Valid("""
from app.sessions import new_session

def open_session():
    db = new_session()
    db.info["origin"] = "jobs"
    return db
""", files=HELPERS, path="app/jobs.py"),
    # a cached helper returns one session for the process, not a new one per call
    Valid("""
from functools import lru_cache
from app.db import SessionLocal

@lru_cache
def shared_session():
    return SessionLocal()

def count():
    db = shared_session()
    return db.query(1).count()
""", files=PKG, path="app/jobs.py"),
    # an Alembic migration: a one-shot script, its process ends with it
    """
from alembic import op
from sqlalchemy.orm import Session

def upgrade():
    session = Session(bind=op.get_bind())
    session.execute("update t set x = 1")
    session.commit()
""",
    # FastAPI's fixed SQL tutorial: the middleware closes request.state.db in `finally`
    Valid("""
from fastapi import FastAPI, Request
from app.db import SessionLocal

app = FastAPI()

@app.middleware("http")
async def db_session_middleware(request: Request, call_next):
    try:
        request.state.db = SessionLocal()
        return await call_next(request)
    finally:
        request.state.db.close()
""", files=PKG, path="app/main.py"),
    # a session on a connection the enclosing `async with` owns and returns
    """
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

engine = create_async_engine("sqlite+aiosqlite://")

async def seed():
    async with engine.begin() as conn:
        session = AsyncSession(bind=conn)
        session.add(object())
        await session.flush()
""",
]


INVALID = [
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
    # a session from a helper of another module, never closed
    Invalid("""
from app.sessions import new_session

def purge():
    db = new_session()
    db.execute("delete from t")
    db.commit()
""", files=HELPERS, path="app/jobs.py", line=4, message="Session `db` is never closed"),
    # the session of a generator, taken with next() outside FastAPI
    Invalid("""
from app.sessions import generate_session

def purge():
    db = next(generate_session())
    db.execute("delete from t")
""", files=HELPERS, path="app/jobs.py", line=4),
    # a factory returned by a helper, called here
    Invalid("""
from app.sessions import get_factory

def purge():
    db = get_factory()()
    db.execute("delete from t")
""", files=HELPERS, path="app/jobs.py", line=4),
    # handed to a helper that only borrows it: still this function's to close
    Invalid("""
from app.sessions import count, new_session

def report():
    db = new_session()
    n = count(db, 1)
    db.close()
    return n
""", files=HELPERS, path="app/jobs.py", line=4, message="closed only on the happy path"),
    # FastAPI's SQL tutorial before its fix: a request that raises skips the close
    Invalid("""
from fastapi import FastAPI, Request
from app.db import SessionLocal

app = FastAPI()

@app.middleware("http")
async def db_session_middleware(request: Request, call_next):
    request.state.db = SessionLocal()
    response = await call_next(request)
    request.state.db.close()
    return response
""", files=PKG, path="app/main.py", line=8, message="Session `request.state.db` is closed only on the happy path"),
    # a pass-through context manager yields the caller's session back without closing it
    Invalid(DB_PY + """
from contextlib import contextmanager

@contextmanager
def reuse_or_open(session=None):
    if session is not None:
        yield session
    else:
        with SessionLocal() as fresh:
            yield fresh

def count(session=None):
    with reuse_or_open(session) as db:
        return db.query(1).count()

def recount():
    db = SessionLocal()
    return count(db)
""", line=22, message="Session `db` is never closed"),
    # the factory comes back from a helper into a local, then is called: its session is the caller's
    Invalid("""
from fastapi import FastAPI, Request
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

app = FastAPI()
ENGINE = create_engine("sqlite://")


def session_factory(engine):
    return sessionmaker(bind=engine)


def api_session() -> Session:
    factory = session_factory(ENGINE)
    return factory()


@app.middleware("http")
async def audit(request: Request, call_next):
    db = api_session()
    db.execute(text("insert into audit values (1)"))
    return await call_next(request)
""", line=20, message="Session `db` is never closed"),
]
