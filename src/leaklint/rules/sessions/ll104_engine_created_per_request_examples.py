"""More LL104 examples: an engine made only when the caller passes none (``engine or make_engine()``)."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

_SESSIONS = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker


def make_engine(url="sqlite://"):
    return create_engine(url)


def make_factory(engine=None):
    return sessionmaker(bind=engine or make_engine())
"""

FALLBACK_VALID = [
    # the per-request caller always passes the engine it memoised: the fallback never runs there
    Valid("""
from fastapi import Depends, FastAPI
from app.sessions import make_engine, make_factory

app = FastAPI()
_engine = None

def get_session():
    global _engine
    if _engine is None:
        _engine = make_engine()
    session = make_factory(engine=_engine)()
    try:
        yield session
    finally:
        session.close()

@app.get("/items")
def items(session=Depends(get_session)):
    return []
""", files={"app/__init__.py": "", "app/sessions.py": _SESSIONS}, path="app/main.py"),
    # `@mock.patch(...)` is no PATCH route: a test helper that builds an engine runs once per test
    """
from unittest import mock

from fastapi import FastAPI
from sqlalchemy import create_engine

app = FastAPI()


@mock.patch("app.tasks.send_email")
def check_masking(send_email):
    engine = create_engine("sqlite://")
    engine.dispose()
""",
]

FALLBACK_INVALID = [
    # one per-request caller leaves the engine out: the fallback makes an engine per request
    Invalid(_SESSIONS, files={"app/__init__.py": "", "app/main.py": """
from fastapi import FastAPI
from app.sessions import make_factory

app = FastAPI()

@app.get("/items")
def items():
    with make_factory()() as session:
        return []
"""}, path="app/sessions.py", line=6, message="(GET /items -> `make_factory()` -> `make_engine()`)"),
    # the message names the caller that leaves the engine out, not the first one found
    Invalid(_SESSIONS, files={"app/__init__.py": "", "app/main.py": """
from fastapi import FastAPI
from app.sessions import make_engine, make_factory

app = FastAPI()
ENGINE = make_engine()

@app.get("/a")
def with_engine():
    with make_factory(engine=ENGINE)() as session:
        return []

@app.get("/b")
def without_engine():
    with make_factory()() as session:
        return []
"""}, path="app/sessions.py", line=6, message="(GET /b -> `make_factory()` -> `make_engine()`)"),
]
