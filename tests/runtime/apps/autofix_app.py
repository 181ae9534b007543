"""Test app whose leaks leaklint fixes by itself (``leaklint --fix --unsafe-fixes``).

tests/runtime/test_autofix_stops_leaks.py copies this file, lets the real CLI rewrite the copy, and
probes both versions. Do not fix the leaks here by hand: the test needs them.

- ``GET /users/{user_id}/card`` (LL202): an unbounded ``lru_cache(maxsize=None)`` keyed by the user
  id keeps one rendered card per distinct user for the life of the process. The fix bounds it at 128.
- ``POST /orders`` (LL101): the yield-dependency closes its thread-local (``scoped_session``) session
  only on the happy path. A request that fails after ``db.add(...)`` leaves its pending order in the
  session, which the next request on that thread reuses, so failed orders pile up. The fix moves
  ``db.close()`` into a ``finally``.
- ``GET /health``: clean.
"""

from functools import lru_cache

from fastapi import Depends, FastAPI, HTTPException
from sqlalchemy import Integer, LargeBinary, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session, sessionmaker
from sqlalchemy.pool import StaticPool

engine = create_engine("sqlite://", connect_args={"check_same_thread": False}, poolclass=StaticPool)
ScopedSession = scoped_session(sessionmaker(bind=engine))


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(40))
    payload: Mapped[bytes] = mapped_column(LargeBinary)


Base.metadata.create_all(engine)

app = FastAPI()


@lru_cache(maxsize=None)  # LL202
def render_card(user_id: int) -> bytes:
    return (f"user {user_id}\n".encode() * 400)[:3000]  # a rendered card, 3000 bytes


@app.get("/users/{user_id}/card")
def user_card(user_id: int):
    return {"user": user_id, "size": len(render_card(user_id))}


def get_db():
    db = ScopedSession()
    yield db  # LL101
    db.close()


@app.post("/orders", status_code=201)
def create_order(sku: str, db: Session = Depends(get_db)):
    db.add(Order(sku=sku, payload=bytes(2048)))
    if sku.startswith("x-"):
        raise HTTPException(status_code=409, detail="sku withdrawn")  # before the commit
    db.commit()
    return {"sku": sku}


@app.get("/health")
def health():
    return {"ok": True}
