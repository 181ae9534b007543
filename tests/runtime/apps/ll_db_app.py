"""Test app whose only leak is in a dependency from another module."""

from fastapi import Depends, FastAPI
from sqlalchemy import text

from ll_db import get_db

app = FastAPI()


def count_rows(db):
    return db.execute(text("select 1")).scalar()


@app.get("/users")
def list_users(db=Depends(get_db)):
    return {"rows": count_rows(db)}


@app.get("/health")
def health():
    return {"ok": True}
