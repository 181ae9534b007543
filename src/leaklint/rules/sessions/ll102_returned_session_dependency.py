"""LL102 returned-session-dependency: a FastAPI dependency returns a new session instead of yielding it."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Invalid
from leaklint.rules.sessions._common import DB_PY, _SessionRule, _named_sessions
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import sqlalchemy as sa


class ReturnedSessionDependency(_SessionRule):
    """## What it does
    Finds a FastAPI dependency (used in `Depends(...)` anywhere in the linted code) that *returns* a
    new SQLAlchemy session or connection instead of yielding it.

    ## Why is this bad?
    FastAPI runs cleanup code only for generator dependencies. A returned session is never closed by
    anyone: its connection goes back to the pool only when the garbage collector happens to
    finalise the session, and under load the pool is exhausted first.

    ## Example
    ```python
    def get_db():
        return SessionLocal()
    ```

    Use instead:
    ```python
    def get_db():
        with SessionLocal() as db:
            yield db
    ```

    ## Fix safety
    The fix turns the dependency into a generator that opens the session with `with` (`async with`
    for `AsyncSession`) and yields it. It is **unsafe**: the session is now closed when the request
    ends, and code that called the function directly (not through `Depends`) now gets a generator.
    No fix is offered when the function has a return annotation (it would become wrong) or does more
    than create and return the session.
    """

    code = "LL102"
    name = "returned-session-dependency"
    message = "Dependency `{func}` returns a new {what}: nobody closes it; yield it from `with` instead"
    fix_title = "Yield the session from a `with` block"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        # not a dependency: a factory whose caller owns the session
        DB_PY + """
def make_session():
    return SessionLocal()
""",
        DB_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def get_db():
    with SessionLocal() as db:
        yield db

@app.get("/")
def index(db=Depends(get_db)):
    return {}
""",
        # returns a session it was given, not a new one
        """
from fastapi import Depends
from sqlalchemy.orm import Session

def get_repo(db: Session):
    return db

def route(repo=Depends(get_repo)):
    pass
""",
    ]
    invalid = [
        Invalid(DB_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def get_db():
    return SessionLocal()

@app.get("/")
def index(db=Depends(get_db)):
    return {}
""", line=12, message="Dependency `get_db`", fixed=DB_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def get_db():
    with SessionLocal() as db:
        yield db

@app.get("/")
def index(db=Depends(get_db)):
    return {}
"""),
        # used as a dependency in another module, through Annotated
        Invalid("""
from sqlalchemy.ext.asyncio import AsyncSession

async def get_session(engine=None):
    session = AsyncSession(engine)
    return session
""", files={"app/__init__.py": "", "app/routes.py": """
from typing import Annotated
from fastapi import APIRouter, Depends
from app.deps import get_session

router = APIRouter()
Session = Annotated[object, Depends(get_session)]

@router.get("/")
async def index(session: Session):
    return {}
"""}, path="app/deps.py", line=5, fixed="""
from sqlalchemy.ext.asyncio import AsyncSession

async def get_session(engine=None):
    async with AsyncSession(engine) as session:
        yield session
"""),
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or facts.is_generator or not sa.creates_resources(self.ctx.project, facts.called) \
                or not web.roles_of(self.ctx, node).dependency:
            return
        index = flow.index_of(self.ctx, node)
        created = _named_sessions(self.ctx, index)
        for ret in index.all(cst.Return):
            value = ret.value
            if isinstance(value, cst.Call):
                resource = sa.resource_created_by(self.ctx, value)
                if resource is None:
                    continue
                self._report(node, ret, resource, value, None)
            elif isinstance(value, cst.Name) and value.value in created:
                call, resource = created[value.value]
                if flow.block_calls(node.body, value.value, resource.close_methods):
                    continue
                self._report(node, ret, resource, call, value.value)

    def _report(self, fn, ret, resource, call, name) -> None:
        what = "session" if resource.kind == "session" else "connection"
        self.report(ret, func=fn.name.value, what=what, fix=self._fix(fn, ret, resource, call, name))

    def _fix(self, fn: cst.FunctionDef, ret: cst.Return, resource: sa.Resource, call: cst.Call,
             name: Optional[str]) -> Optional[Fix]:
        if fn.returns is not None or not isinstance(fn.body, cst.IndentedBlock):
            return None
        body = list(fn.body.body)
        last = body[-1] if body else None
        if not (isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and last.body[0] is ret):
            return None
        start = len(body) - 1
        if name is not None:
            # `db = Factory()` must be a statement right before the return
            if start == 0:
                return None
            prev = body[start - 1]
            if not (isinstance(prev, cst.SimpleStatementLine) and len(prev.body) == 1
                    and isinstance(prev.body[0], (cst.Assign, cst.AnnAssign)) and prev.body[0].value is call):
                return None
            start -= 1
        var = name or ("connection" if resource.kind != "session" else "session" if resource.is_async else "db")
        config = self.ctx.module.config_for_parsing
        keyword = "async with" if resource.is_async else "with"
        text = f"{keyword} {self.ctx.code(call)} as {var}:\n{config.default_indent}yield {var}\n"
        with_node = cst.parse_statement(text, config=config).with_changes(leading_lines=body[start].leading_lines)
        new_body = fn.body.with_changes(body=body[:start] + [with_node])
        return Fix(self.fix_title or "", Applicability.UNSAFE, {fn.body: new_body})
