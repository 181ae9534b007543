"""LL101's examples: generators that yield a session, in one module or spread over several."""

from leaklint.rule import Invalid, Valid
from leaklint.rules.sessions._common import DB_PY, HELPERS

VALID = [
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
    # a pytest fixture: pytest runs the code after `yield` whether the test passed or failed
    """
import pytest
from sqlalchemy.orm import Session

@pytest.fixture
def db(engine):
    session = Session(engine)
    yield session
    session.close()
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

INVALID = [
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
