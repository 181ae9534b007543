"""LL507's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

APP = """
from fastapi import Depends, FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import get_db
from app.models import Item, Order, User

app = FastAPI()
"""
FILES = {"app/__init__.py": "", "app/db.py": "def get_db():\n    yield None\n",
         "app/models.py": "class Item:\n    pass\n\nclass Order:\n    pass\n\nclass User:\n    pass\n"}


def _valid(body: str) -> Valid:
    return Valid(APP + body, files=FILES, path="app/routes.py")


def _invalid(body: str, line: int, **kwargs) -> Invalid:
    return Invalid(APP + body, files=FILES, path="app/routes.py", line=line + APP.count("\n") - 1, **kwargs)


VALID = [
    # a limit in the chain
    _valid("""
@app.get("/items")
def items(db: Session = Depends(get_db)):
    return db.query(Item).order_by(Item.id).limit(100).all()
"""),
    # one row by primary key
    _valid("""
@app.get("/items/{item_id}")
def item(item_id: int, db: Session = Depends(get_db)):
    return db.query(Item).filter(Item.id == item_id).all()
"""),
    _valid("""
@app.get("/users/{user_id}")
async def user(user_id: int, db: Session = Depends(get_db)):
    rows = (await db.execute(select(User).where(User.id == user_id))).scalars().all()
    return rows
"""),
    # pagination parameters: the route pages somewhere
    _valid("""
@app.get("/orders")
def orders(skip: int = 0, limit: int = 50, db: Session = Depends(get_db)):
    query = db.query(Order)
    return query.all()[skip:skip + limit]
"""),
    # the statement is limited after it was built
    _valid("""
@app.get("/orders/recent")
async def recent(db: Session = Depends(get_db)):
    stmt = select(Order).order_by(Order.id.desc())
    stmt = stmt.limit(20)
    result = await db.execute(stmt)
    return result.scalars().all()
"""),
    # counted, not returned
    _valid("""
@app.get("/items/count")
def count(db: Session = Depends(get_db)):
    return {"count": len(db.query(Item).all())}
"""),
    # aggregates: one row per group
    _valid("""
@app.get("/orders/stats")
def stats(db: Session = Depends(get_db)):
    return db.execute(select(Order.status, func.count(Order.id)).group_by(Order.status)).all()
"""),
    # first() / one(): a single row
    _valid("""
@app.get("/me")
def me(db: Session = Depends(get_db)):
    return db.query(User).filter(User.name == "me").first()
"""),
    # a statement built elsewhere is not judged
    _valid("""
@app.get("/search")
def search(stmt=Depends(get_db), db: Session = Depends(get_db)):
    return db.execute(stmt).scalars().all()
"""),
    # not a route: a background export may read everything
    _valid("""
def export_all(db: Session):
    return db.query(Order).all()
"""),
    # as many rows as the request names
    _valid("""
@app.post("/items/lookup")
def lookup(ids: list, db: Session = Depends(get_db)):
    return db.scalars(select(Item).where(Item.id.in_(ids))).all()
"""),
    # the distinct values of a column: a small domain
    _valid("""
@app.get("/orders/statuses")
def statuses(db: Session = Depends(get_db)):
    return db.scalars(select(Order.status).distinct()).all()
"""),
]

INVALID = [
    _invalid("""
@app.get("/orders")
def list_orders(db: Session = Depends(get_db)):
    return db.query(Order).all()
""", line=4, column=12, message="Route GET /orders returns an unbounded query result (`db.query(Order).all()`"),
    _invalid("""
@app.get("/items")
async def list_items(db: Session = Depends(get_db)):
    result = await db.execute(select(Item).where(Item.owner_id == 1).order_by(Item.name))
    return result.scalars().all()
""", line=5, message="`result.scalars().all()`"),
    # the statement in a variable, refined but never limited; the rows returned through a comprehension
    _invalid("""
@app.get("/users")
def users(active: bool, db: Session = Depends(get_db)):
    stmt = select(User)
    if active:
        stmt = stmt.where(User.active)
    rows = db.scalars(stmt).all()
    return [{"name": u.name} for u in rows]
""", line=7),
    _invalid("""
@app.post("/orders/export")
def export(db: Session = Depends(get_db)):
    return {"orders": db.query(Order).filter(Order.status == "open").all()}
""", line=4, message="POST /orders/export"),
]
