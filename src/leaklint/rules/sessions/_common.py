"""What the LL1xx rules share: the family base class, session lookups in a function, and the example `db.py`."""

from __future__ import annotations

from typing import Dict, List, Tuple

import libcst as cst

from leaklint.rule import Rule
from leaklint.semantics import flow
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics.flow import FunctionIndex

ENTER_CONTEXT = frozenset({"enter_context", "enter_async_context", "push", "callback", "push_async_callback"})

DB_PY = """
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine)
"""

#: an example project whose sessions come from helpers of another module (``app/sessions.py``)
PKG = {"app/__init__.py": "", "app/db.py": DB_PY}
HELPERS = dict(PKG, **{"app/sessions.py": """
from contextlib import suppress
from app.db import SessionLocal


def new_session():
    return SessionLocal()


def get_factory():
    return SessionLocal


def generate_session():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


def count(db, model):
    return db.query(model).count()


def _safe_close(session):
    with suppress(Exception):
        session.close()


class Repo:
    def __init__(self, db):
        self.db = db
"""})


class _SessionRule(Rule):
    family = "sessions"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return not summary.is_test_module and sa.may_use_sqlalchemy(summary, project)


def _created_sessions(ctx, index: FunctionIndex) -> List[Tuple[cst.Call, sa.Resource]]:
    out = []
    for call in index.all(cst.Call):
        resource = sa.resource_created_by(ctx, call)
        if resource is not None:
            out.append((call, resource))
    return out


def _named_sessions(ctx, index: FunctionIndex) -> Dict[str, Tuple[cst.Call, sa.Resource]]:
    """``db = SessionLocal()`` in this function -> ``{"db": (call, resource)}``."""
    named = {}
    for call, resource in _created_sessions(ctx, index):
        name = flow.assigned_name(index, call)
        if name is not None:
            named[name] = (call, resource)
    return named
