"""Test app on a real PostgreSQL (DSN in LEAKLINT_PG_DSN): a ``get_db`` without ``finally`` (LL101).

``GET /accounts/{account_id}`` answers 404 for an id it does not find, raising after the session ran its
query: the exception skips ``db.close()``, so the server connection stays checked out, idle in
transaction, until the garbage collector finds the session. tests/runtime/test_postgres.py copies this
file, lets ``leaklint --fix --unsafe-fixes`` rewrite the copy and compares both. Do not fix it by hand.
"""

import os

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine(
    os.environ["LEAKLINT_PG_DSN"].replace("postgresql://", "postgresql+psycopg://", 1),
    pool_size=5,
    max_overflow=10,
    connect_args={"application_name": __name__},  # the test counts this module's server connections
)
SessionLocal = sessionmaker(bind=engine)

app = FastAPI()


def get_db():
    db = SessionLocal()
    yield db
    db.close()


@app.get("/accounts/{account_id}")
def account(account_id: int, db: Session = Depends(get_db)):
    row = db.execute(text("select CAST(:id AS integer) where CAST(:id AS integer) < 100"), {"id": account_id}).first()
    if row is None:
        raise HTTPException(status_code=404, detail="no such account")
    return {"id": row[0]}
