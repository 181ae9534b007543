"""What the LL1xx rules share: the family base class, session lookups in a function, and the example `db.py`."""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import libcst as cst

from leaklint.rule import Rule
from leaklint.semantics import flow, obligations
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


def _managed_by_with(index: FunctionIndex, node: cst.CSTNode, name: Optional[str], ctx=None) -> bool:
    """Inside ``with <resource> [as name]:``, ``with closing(resource):`` or ``with helper(resource):``
    where the helper releases it (a pass-through ``@contextmanager`` that yields it back does not)."""
    for with_node in index.enclosing_withs(node):
        for item in with_node.items:
            expr = item.item
            if isinstance(expr, cst.Call) and expr.args:  # closing(db) / release_after(db)
                arg = expr.args[0]
                if isinstance(arg.value, cst.Name) and arg.value.value == name and (
                        ctx is None or obligations.passed_to(ctx, expr, arg) == "release"):
                    return True
            elif isinstance(expr, cst.Name) and expr.value == name:
                return True
            if item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == name:
                return True
    return False
