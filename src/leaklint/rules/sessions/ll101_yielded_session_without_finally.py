"""LL101 yielded-session-without-finally: a generator yields a session it does not close when the request fails."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability
from leaklint.rules.sessions._common import _SessionRule, _named_sessions
from leaklint.rules.sessions.ll101_yielded_session_without_finally_examples import INVALID, VALID
from leaklint.semantics import flow, obligations
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics.flow import FunctionIndex


def _close_statement(name: str, resource: sa.Resource) -> str:
    return f"await {name}.close()" if resource.is_async else f"{name}.close()"


def _is_close_statement(stmt: cst.CSTNode, name: str, resource: sa.Resource) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and flow.method_call(stmt.body[0].value, name, resource.close_methods))


PYTEST_FIXTURES = frozenset({"pytest.fixture", "pytest_asyncio.fixture", "_pytest.fixtures.fixture"})


class YieldedSessionWithoutFinally(_SessionRule):
    """## What it does
    Finds a generator (a FastAPI yield-dependency such as `get_db`, or a `@contextmanager` helper)
    that creates a SQLAlchemy session or connection and yields it without closing it on every path:
    the `yield` is neither inside `with`/`async with` nor inside a `try` whose `finally` closes it.

    ## Why is this bad?
    When the endpoint raises, FastAPI (and `contextlib`) throws the exception into the generator at
    the `yield`. Code after the `yield`, or in an `except` that re-raises, never reaches `close()`,
    so the session keeps its connection checked out of the pool. A few failing requests exhaust the
    pool (`QueuePool limit of size 5 overflow 10 reached`) and the service hangs.

    ## Example
    ```python
    def get_db():
        db = SessionLocal()
        yield db
        db.close()
    ```

    Use instead:
    ```python
    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()
    ```
    or `with SessionLocal() as db: yield db`.

    ## Fix safety
    The fix wraps the code from the `yield` to the end of the function in `try/finally` and moves an
    existing `close()` into the `finally`. When the function already closed the session after the
    `yield`, only the failure path changes (the session is now closed there too): the fix is **safe**.
    When it never closed the session, the fix adds a close: objects loaded through the session are
    detached when the request ends, which code that keeps using them afterwards may notice, so the
    fix is **unsafe**. `await db.close()` is used for `AsyncSession`.
    """

    code = "LL101"
    name = "yielded-session-without-finally"
    message = "{what} `{var}` is yielded without a `finally` that closes it: it leaks when the request fails"
    fix_title = "Wrap the yield in `try/finally` that closes the session"
    fix_availability = FixAvailability.SOMETIMES

    valid = VALID
    invalid = INVALID

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or not facts.is_generator or not sa.creates_resources(self.ctx.project, facts.called):
            return
        if any(set(candidates) & PYTEST_FIXTURES for candidates, _ in facts.decorators):
            return  # pytest resumes a fixture with next() even when the test fails: the teardown runs
        index = flow.index_of(self.ctx, node)
        created = _named_sessions(self.ctx, index)
        for yield_node in index.all(cst.Yield):
            value = yield_node.value
            if isinstance(value, cst.Name) and value.value in created:
                name = value.value
                call, resource = created[name]
            elif isinstance(value, cst.Call) and sa.resource_created_by(self.ctx, value) is not None:
                continue  # `yield SessionLocal()`: nobody can close it here; LL103 territory
            else:
                continue
            if obligations.managed_by_with(self.ctx, index, yield_node, name) or obligations.released_in_finally(
                    self.ctx, index, yield_node, name, resource.close_methods):
                continue
            what = "Session" if resource.kind == "session" else "Connection"
            self.report(yield_node, what=what, var=name, fix=self._fix(node, index, yield_node, name, resource))

    def _fix(self, fn: cst.FunctionDef, index: FunctionIndex, yield_node: cst.Yield, name: str,
             resource: sa.Resource) -> Optional[Fix]:
        statement = index.statement_of(yield_node)
        body = list(fn.body.body) if isinstance(fn.body, cst.IndentedBlock) else []
        close = cst.parse_statement(_close_statement(name, resource), config=self.ctx.module.config_for_parsing)
        position = flow.top_level_index(fn, statement) if statement is not None else None
        if position is not None:  # yield is a statement of the function body: wrap the rest
            rest = body[position:]
            kept = [s for s in rest if not _is_close_statement(s, name, resource)]
            had_close = len(kept) != len(rest)
            first = kept[0]
            try_node = cst.Try(
                body=cst.IndentedBlock(body=[first.with_changes(leading_lines=[])] + kept[1:]),
                finalbody=cst.Finally(body=cst.IndentedBlock(body=[close])),
                leading_lines=first.leading_lines,
            )
            new_body = fn.body.with_changes(body=body[:position] + [try_node])
        else:
            # yield inside a try without finally that is itself a statement of the function body
            try_node = next((a for a in index.ancestors(yield_node) if isinstance(a, cst.Try)), None)
            position = flow.top_level_index(fn, try_node) if try_node is not None else None
            if try_node is None or position is None or try_node.finalbody is not None:
                return None
            after = body[position + 1:]
            if not all(_is_close_statement(s, name, resource) for s in after):
                return None
            had_close = bool(after) or flow.block_calls(try_node.body, name, resource.close_methods)
            new_try = try_node.with_changes(finalbody=cst.Finally(body=cst.IndentedBlock(body=[close])))
            new_body = fn.body.with_changes(body=body[:position] + [new_try])
        applicability = Applicability.SAFE if had_close else Applicability.UNSAFE
        return Fix(self.fix_title or "", applicability, {fn.body: new_body})
