"""Test app: a yield-dependency without ``finally`` (LL101) that leaks a pool checkout when the request fails.

``GET /me`` resolves ``get_current_user``, which queries through ``get_db``: the session holds a pooled
connection when the handler runs. On success ``db.close()`` returns it; when the handler fails, the
exception skips ``db.close()`` and only the garbage collector returns the connection. ``GET /me/fixed``
uses the same queries through a dependency that closes in ``finally``. ``GET /hold`` keeps every session
(a real exhaustion of its small pool, for the probe's bounded pool timeout).
"""

import os
import tempfile

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

_DB = os.path.join(tempfile.mkdtemp(prefix="ll_pool_app_"), "app.db")
engine = create_engine(f"sqlite:///{_DB}")
SessionLocal = sessionmaker(bind=engine)
small_engine = create_engine(f"sqlite:///{_DB}", pool_size=2, max_overflow=0, pool_timeout=30)
SmallSession = sessionmaker(bind=small_engine)
HELD = []

app = FastAPI()


def get_db():
    db = SessionLocal()
    yield db  # LL101: a failing request never reaches close()
    db.close()


def get_db_closing():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def get_current_user(db=Depends(get_db)):
    return db.execute(text("select 'ada'")).scalar()


def get_current_user_fixed(db=Depends(get_db_closing)):
    return db.execute(text("select 'ada'")).scalar()


@app.get("/me")
def me(user=Depends(get_current_user)):
    return {"user": user}


@app.get("/me/fixed")
def me_fixed(user=Depends(get_current_user_fixed)):
    return {"user": user}


@app.get("/hold")
def hold():
    db = SmallSession()
    db.execute(text("select 1"))
    HELD.append(db)  # every session kept: the pool runs dry after two requests
    return {"held": len(HELD)}


def release():
    for db in HELD:
        db.close()
    HELD.clear()
