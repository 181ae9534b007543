"""LL103's examples for a session whose name is rebound before anything closes it."""

from __future__ import annotations

from leaklint.rule import Invalid

_DB = """
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

SessionLocal = sessionmaker(bind=create_engine("sqlite://"))
"""

VALID = [
    # closed in `finally` before the name takes the next session, which `with` closes
    _DB + '''

def copy_rows():
    db = SessionLocal()
    try:
        rows = db.execute(text("select 1")).all()
    finally:
        db.close()
    db = SessionLocal()
    with db:
        return len(rows) + db.execute(text("select 2")).scalar()
''',
]

INVALID = [
    # dropping the name does not close the session (nor give its connection back to the pool)
    Invalid(_DB + '''

def count_rows():
    db = SessionLocal()
    n = db.execute(text("select count(*) from t")).scalar()
    db = None
    return n
''', line=8, message="Session `db` is rebound to another object before it is closed"),
]
