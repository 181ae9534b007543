"""LL301 contextvar-set-without-reset: `var.set(...)` whose token is not passed to `var.reset(token)` in a `finally`."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability
from leaklint.rules.context_vars._common import _ContextVarRule, _set_target
from leaklint.rules.context_vars.ll301_contextvar_set_without_reset_examples import INVALID, VALID
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import contextvars_ as cv
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex


REQUEST_SCOPED = " (the value stays"
#: names of functions whose job is to set their caller's context (``init_ws_context``, ``set_current_user``)
SETTER_PREFIXES = ("set_", "init_", "bind_", "push_", "enter_", "activate_", "use_", "_set_", "_init_", "_bind_")


class ContextVarSetWithoutReset(_ContextVarRule):
    """## What it does
    Finds `var.set(...)` on a `contextvars.ContextVar` (defined in the module or imported from another
    linted module) inside a function - a middleware, a dependency or any other function - whose token
    is not passed to `var.reset(token)` in a `finally`: the token is discarded, reset only on the
    happy path, or reset only in an `except`.

    ## Why is this bad?
    `set` changes the variable for the rest of the *current context*, not for the function. In an
    `@app.middleware("http")` or `BaseHTTPMiddleware.dispatch`, that context belongs to the server's
    task that goes on running outer middleware, exception handlers and logging after the request;
    in a worker loop it is the loop's context, so the value leaks into whatever runs next (the next
    job logs the previous user's id) and keeps the object it refers to alive.

    ## Example
    ```python
    @app.middleware("http")
    async def add_request_id(request, call_next):
        request_id.set(request.headers.get("x-request-id", "-"))
        return await call_next(request)
    ```

    Use instead:
    ```python
    @app.middleware("http")
    async def add_request_id(request, call_next):
        token = request_id.set(request.headers.get("x-request-id", "-"))
        try:
            return await call_next(request)
        finally:
            request_id.reset(token)
    ```
    A generator dependency resets after its `yield` in `finally`; `stack.callback(var.reset, token)`
    on an `ExitStack` and functions run through `contextvars.copy_context().run(...)` (or
    `asyncio.to_thread`) are fine too.

    ## Fix safety
    When the `set` is a statement of the function body, the fix binds its token and wraps the rest
    of the function in `try/finally: var.reset(token)`, moving an existing happy-path reset there. It
    is **unsafe**: code that relied on the value staying set after the function returned changes
    behaviour. No fix when the `set` is the last statement or followed only by a `return` or more
    sets, when the function's name says it is a setter (`set_*`, `init_*`, `bind_*`...): setting the
    caller's context is then its purpose, and a reset would make it a no-op; none either when the
    `set` is nested in another block or the token is also reset elsewhere.

    ## When it matters
    A `set` leaks when the context outlives the work it was meant for, and the rule reports it
    there: a middleware (the server's task goes on running outer middleware, exception handlers and
    logging), a loop that sets per iteration, a function run on an executor thread
    (`loop.run_in_executor` and `executor.submit` do not copy the context, and the pooled thread
    keeps it), a Celery/RQ/dramatiq job, startup code, `__enter__` without an `__exit__` that
    restores the value, a generator that is not a FastAPI dependency (its caller's context). In a
    route, a dependency and the code they call the context is the request's own task and dies with
    it: that is the preview rule LL304's case, not this one. A `set` in a function run by none of
    these, `set(None)` clears, get-or-create memos, `__exit__` restores and setter helpers are not
    reported.

    ## Known problems
    Only module-level ContextVars are recognised (class attributes are not). A token that is
    returned, stored or passed to another call is assumed to be reset by its new owner.
    """

    code = "LL301"
    name = "contextvar-set-without-reset"
    message = "`{var}.set(...)` in `{func}`: {problem}; reset it in `finally` so the value does not leak"
    fix_title = "Bind the token and reset it in `try/finally`"
    fix_availability = FixAvailability.SOMETIMES

    valid = VALID
    invalid = INVALID
    #: LL304 reports the sets whose context is the request's own task; LL301 the ones that outlive it
    request_scoped = False

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "set":
            return
        target = _set_target(self.ctx, node)
        if target is None:
            return
        fn, var = target
        if fn.name.value in ("__exit__", "__aexit__") or cv.is_clear(node):
            return  # restoring the previous value, or clearing it
        if fn.name.value in ("__enter__", "__aenter__") and cv.restores_on_exit(self.ctx.enclosing_class(fn)):
            return  # the context manager's `__exit__` owns the cleanup
        if fn.name.value in cv.functions_run_in_copied_context(self.ctx):
            return
        index = flow.index_of(self.ctx, fn)
        where = self._outliving_context(fn, index, node)
        if where is None or where.startswith(REQUEST_SCOPED) != self.request_scoped or \
                cv.is_get_or_create(self.ctx, index, node, var):
            return
        if index.in_finally(node) or cv.restored_in_finally(self.ctx, index, var):
            return
        for outer in self.ctx.ancestors(fn):
            if isinstance(outer, cst.FunctionDef) and \
                    cv.restored_in_finally(self.ctx, flow.index_of(self.ctx, outer), var):
                return  # a closure called inside the enclosing function's try/finally
        roles = web.roles_of(self.ctx, fn)
        entering = fn.name.value in ("__enter__", "__aenter__")
        if isinstance(self.ctx.parent(node), cst.Expr) and not (roles.middleware or entering) \
                and cv.is_setter_tail(index, index.statement_of(node)):
            return
        parent = self.ctx.parent(node)
        token = None
        if isinstance(parent, cst.Expr):
            problem = "its token is discarded"
        else:
            token = flow.assigned_name(index, node)
            if token is None or aio.declared_outside(index, token):
                return  # returned, stored or passed on: its owner resets it
            if cv.reset_for_sure(index, token) or cv.token_escapes(index, token):
                return
            found = cv.resets(index, token)
            if not found:
                problem = f"token `{token}` is never reset"
            elif all(index.in_except(c) for c in found):
                problem = "reset only in `except`"
            else:
                problem = "reset only on the happy path"
        self.report(node, var=self.ctx.code(var), func=fn.name.value, problem=problem + where,
                    fix=self._fix(fn, index, node, var, token))

    def _outliving_context(self, fn: cst.FunctionDef, index: FunctionIndex, call: cst.Call) -> Optional[str]:
        """Where the context outlives the unit of work, how to say it (None: it does not, or we cannot tell).

        A ``set`` leaks only when the context it changes lives on after the work it was meant for:
        the server's task in a middleware, a loop's iterations, a reused executor thread, a worker
        process's jobs, the application after startup, a ``with`` block without a restoring
        ``__exit__``, a generator's caller. In code that runs per request the context is the
        request's own task: the value stays visible to what runs later in it.
        """
        roles = web.roles_of(self.ctx, fn)
        facts = self.ctx.function_facts(fn)
        if roles.middleware or "call_next" in (facts.params if facts else ()):
            return (" (in a middleware: the value stays set for the rest of the request's task, seen by outer "
                    "middleware, exception handlers, background tasks and every task it spawns)")
        if any(isinstance(a, (cst.For, cst.While)) for a in index.ancestors(call)):
            return " (in a loop: each iteration's value stays set for the next)"
        if fn.name.value in cv.functions_run_in_executor(self.ctx):
            return " (on an executor thread, whose context outlives the job)"
        if cv.is_worker_job(self.ctx, fn):
            return " (in a worker job: the worker's context outlives it)"
        if roles.startup:
            return " (at startup: the value stays set for the whole application)"
        if fn.name.value in ("__enter__", "__aenter__") or (
                facts is not None and facts.is_generator and not roles.dependency):
            return ""
        if web.runs_per_request(self.ctx, fn):
            return REQUEST_SCOPED + " visible to everything that runs later in this request's context: " \
                "background tasks, tasks it spawns)"
        return None

    def _fix(self, fn: cst.FunctionDef, index: FunctionIndex, call: cst.Call, var: cst.BaseExpression,
             token: Optional[str]) -> Optional[Fix]:
        statement = index.statement_of(call)
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        if cv.is_setter_tail(index, statement) or fn.name.value.startswith(SETTER_PREFIXES):
            return None  # setting the caller's context is what the function is for: a reset would undo it
        position = flow.top_level_index(fn, statement)
        if position is None:
            return None
        body = list(fn.body.body)  # type: ignore[union-attr]
        config = self.ctx.module.config_for_parsing
        var_code = self.ctx.code(var)
        if token is None:
            token = aio.fresh_name(index, "token")
            first = cst.parse_statement(f"{token} = {self.ctx.code(call)}", config=config).with_changes(
                leading_lines=statement.leading_lines, trailing_whitespace=statement.trailing_whitespace)
        else:
            first = statement
        rest = body[position + 1:]
        kept = [s for s in rest if not _is_reset_statement(s, token)]
        if len(cv.resets(index, token)) != len(rest) - len(kept) or not kept:
            return None  # a reset elsewhere (would reset twice) or nothing to guard
        reset = cst.parse_statement(f"{var_code}.reset({token})", config=config)
        try_node = cst.Try(
            body=cst.IndentedBlock(body=[kept[0].with_changes(leading_lines=[])] + kept[1:]),
            finalbody=cst.Finally(body=cst.IndentedBlock(body=[reset])),
            leading_lines=kept[0].leading_lines,
        )
        new_body = fn.body.with_changes(body=body[:position] + [first, try_node])
        return Fix(self.fix_title or "", Applicability.UNSAFE, {fn.body: new_body})


def _is_reset_statement(stmt: cst.CSTNode, token: str) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, cst.Call) and stmt.body[0].value.func is not None
            and isinstance(stmt.body[0].value.func, cst.Attribute) and stmt.body[0].value.func.attr.value == "reset"
            and len(stmt.body[0].value.args) == 1 and isinstance(stmt.body[0].value.args[0].value, cst.Name)
            and stmt.body[0].value.args[0].value.value == token)
