"""SQLAlchemy / SQLModel semantics: what creates a session, a connection or an engine.

Session factories are resolved through imports and the project facts, so
``SessionLocal = sessionmaker(...)`` in ``app/db.py`` is known in ``app/deps.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import libcst as cst

from leaklint.semantics.names import Names, matches

if TYPE_CHECKING:  # pragma: no cover - the map phase (summary, ownership_map) imports this module's tables
    from leaklint.semantics.project import ProjectFacts
    from leaklint.semantics.summary import ModuleSummary

ASYNC_SESSION_CLASSES = frozenset({
    "sqlalchemy.ext.asyncio.AsyncSession", "sqlalchemy.ext.asyncio.session.AsyncSession",
    "sqlmodel.ext.asyncio.session.AsyncSession",
})
SESSION_CLASSES = ASYNC_SESSION_CLASSES | frozenset({
    "sqlalchemy.orm.Session", "sqlalchemy.orm.session.Session", "sqlmodel.Session", "sqlmodel.orm.session.Session",
})
SESSIONMAKERS = frozenset({
    "sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker",
    "sqlalchemy.ext.asyncio.async_sessionmaker", "sqlalchemy.ext.asyncio.session.async_sessionmaker",
})
ASYNC_SESSIONMAKERS = frozenset({"sqlalchemy.ext.asyncio.async_sessionmaker",
                                 "sqlalchemy.ext.asyncio.session.async_sessionmaker"})
SCOPED_SESSIONS = frozenset({"sqlalchemy.orm.scoped_session", "sqlalchemy.orm.scoping.scoped_session",
                             "sqlalchemy.ext.asyncio.async_scoped_session",
                             "sqlalchemy.ext.asyncio.scoping.async_scoped_session"})
ENGINE_FACTORIES = frozenset({
    "sqlalchemy.create_engine", "sqlalchemy.engine.create_engine", "sqlalchemy.engine.create.create_engine",
    "sqlmodel.create_engine", "sqlalchemy.ext.asyncio.create_async_engine",
    "sqlalchemy.ext.asyncio.engine.create_async_engine",
})
ASYNC_ENGINE_FACTORIES = frozenset({"sqlalchemy.ext.asyncio.create_async_engine",
                                    "sqlalchemy.ext.asyncio.engine.create_async_engine"})
CONNECTION_METHODS = frozenset({"connect", "raw_connection"})
CLOSING = frozenset({"contextlib.closing", "contextlib.aclosing"})
PACKAGES = ("sqlalchemy", "sqlmodel")


@dataclass(frozen=True)
class Resource:
    kind: str  # "session" | "connection"
    is_async: bool
    scoped: bool = False

    @property
    def close_methods(self) -> frozenset:
        return frozenset({"close", "remove"}) if self.scoped else frozenset({"close"})


def _factory(project: ProjectFacts, names: Names) -> Optional[Resource]:
    """A module-level ``X = sessionmaker(...)`` / ``scoped_session(...)`` anywhere in the project."""
    for name in names:
        definition = project.definition(name)
        if definition is None or definition.kind != "call":
            continue
        callee = frozenset(definition.callee)
        if matches(callee, SESSIONMAKERS):
            is_async = matches(callee, ASYNC_SESSIONMAKERS) or matches(
                frozenset(definition.keywords.get("class_", ())), ASYNC_SESSION_CLASSES)
            return Resource("session", is_async)
        if matches(callee, SCOPED_SESSIONS):
            return Resource("session", "async" in " ".join(callee), scoped=True)
    return None


def session_factory(project: ProjectFacts, names: Names) -> Optional[tuple]:
    """``("session", is_async)`` when ``names`` is a module-level session factory of the project."""
    found = _factory(project, names)
    return (found.kind, found.is_async) if found is not None else None


def is_engine(project: ProjectFacts, names: Names) -> Optional[bool]:
    """True/False (async?) when ``names`` is a module-level ``create_engine(...)`` result."""
    for name in names:
        definition = project.definition(name)
        if definition is not None and definition.kind == "call" and matches(frozenset(definition.callee), ENGINE_FACTORIES):
            return matches(frozenset(definition.callee), ASYNC_ENGINE_FACTORIES)
    return None


def _summarised(acquired) -> Optional[Resource]:
    if acquired is not None and acquired[0] in ("session", "connection"):
        return Resource(acquired[0], acquired[1])
    return None


def _local_factory_product(ctx, name: str) -> Optional[Resource]:
    """``Session = sessionmaker(bind=engine)`` bound once in the function, then ``Session()``."""
    from leaklint.semantics.flow import index_of

    fn = ctx.current_function()
    if fn is None:
        return None
    index = index_of(ctx, fn)
    binders = index.assignments(name)
    value = index.assigned_value(binders[0]) if len(binders) == 1 else None
    if isinstance(value, cst.Call) and matches(ctx.qualify(value.func), SESSIONMAKERS):
        return Resource("session", matches(ctx.qualify(value.func), ASYNC_SESSIONMAKERS))
    return None


def resource_created_by(ctx, call: cst.Call) -> Optional[Resource]:
    """Does this call open a session or connection the caller must close?

    Also through the project's own functions (their ownership summaries): a helper in another
    module that returns ``SessionLocal()``, ``get_factory()()`` where ``get_factory`` returns a
    session factory, ``next(generate_session())`` of a generator that yields a new session.
    """
    func = call.func
    ownership = ctx.project.ownership
    if isinstance(func, cst.Call):  # sessionmaker(bind=engine)()
        inner = ctx.qualify(func.func)
        if matches(inner, SESSIONMAKERS):
            return Resource("session", matches(inner, ASYNC_SESSIONMAKERS))
        if ownership is not None:
            return next((r for r in (_summarised(ownership.factories.get(n)) for n in inner) if r), None)
        return None
    callee = ctx.qualify(func)
    if not callee and isinstance(func, cst.Name):
        return _local_factory_product(ctx, func.value)
    if callee:
        if matches(callee, SESSION_CLASSES):
            return Resource("session", matches(callee, ASYNC_SESSION_CLASSES))
        found = _factory(ctx.project, callee)
        if found is not None:
            return found
        if ownership is not None:
            found = next((r for r in (_summarised(ownership.returns.get(n)) for n in callee) if r), None)
            if found is not None:
                return found
            if callee & {"builtins.next", "builtins.anext"} and call.args and isinstance(call.args[0].value, cst.Call):
                generator = ctx.qualify(call.args[0].value.func)
                found = next((r for r in (_summarised(ownership.yields.get(n)) for n in generator) if r), None)
                if found is not None:
                    return found
    if isinstance(func, cst.Attribute) and func.attr.value in CONNECTION_METHODS:
        engine = is_engine(ctx.project, ctx.qualify(func.value))
        if engine is not None:
            return Resource("connection", engine)
    return None


def is_engine_factory_call(ctx, call: cst.Call) -> bool:
    return matches(ctx.qualify(call.func), ENGINE_FACTORIES)


def creates_resources(project: ProjectFacts, called) -> bool:
    """Do these called names (a module's or a function's) include a session, connection or
    engine constructor? Exact for everything ``resource_created_by`` can recognise."""
    direct = SESSION_CLASSES | SESSIONMAKERS | SCOPED_SESSIONS | ENGINE_FACTORIES
    ownership = project.ownership
    for qualified in called:
        name = project.canonical(qualified)
        if name in direct or qualified in direct:
            return True
        if ownership is not None and any(_summarised(table.get(name)) for table in (
                ownership.returns, ownership.factories, ownership.yields)):
            return True
        if _factory(project, frozenset({name})) is not None:
            return True
        head, _, attr = name.rpartition(".")
        if attr in CONNECTION_METHODS and is_engine(project, frozenset({head})) is not None:
            return True
    return False


def is_migration(summary: ModuleSummary) -> bool:
    """An Alembic migration (``from alembic import op``): a one-shot script whose process ends with
    it, so a session on ``op.get_bind()`` left open leaks nothing that outlives the run."""
    return summary.imports_from("alembic.op", "alembic.context")


def may_use_sqlalchemy(summary: ModuleSummary, project: ProjectFacts) -> bool:
    """Cheap look for the LL1 rules: does the module call anything that opens a session,
    a connection or an engine? (``sessionmaker(...)()`` counts: ``sessionmaker`` is called.)
    Alembic migrations are one-shot scripts: nothing there leaks past the run. Asked by each LL1
    rule of each file: the answer is kept per module."""
    from leaklint.semantics.state import _MEMO

    memo = _MEMO.get(project, "may-use-sqlalchemy", lambda p: {})
    known = memo.get(id(summary))
    if known is None or known[0] is not summary:  # the very summary: an editor replaces it on each change
        known = memo[id(summary)] = (summary, not is_migration(summary) and creates_resources(project, summary.called))
    return known[1]
