"""LL3xx: ContextVar values that outlive the code that set them."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, Invalid, Rule, Valid
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import contextvars_ as cv
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex

CONTEXT_PY = """
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")
"""


class _ContextVarRule(Rule):
    family = "context-vars"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return cv.may_set_contextvar(summary, project)


def _set_target(ctx, node: cst.Call):
    """For ``var.set(...)`` on a known ContextVar inside a function: (function, var expression)."""
    receiver = cv.set_call_receiver(node)
    if receiver is None or not isinstance(receiver, (cst.Name, cst.Attribute)):
        return None
    fn = None
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.Lambda):
            return None  # `lambda: var.set(x)` returns the token to its caller
        if isinstance(ancestor, cst.FunctionDef):
            fn = ancestor
            break
    if fn is None or not cv.is_contextvar(ctx, receiver):
        return None
    return fn, receiver


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
    is **unsafe**: code that relied on the value staying set after the function returned (a setter
    meant to change the caller's context) changes behaviour. No fix when the `set` is the last
    statement, is nested in another block, or the token is also reset elsewhere.

    ## Known problems
    Only module-level ContextVars are recognised (class attributes are not). A token that is
    returned, stored or passed to another call is assumed to be reset by its new owner.
    """

    code = "LL301"
    name = "contextvar-set-without-reset"
    message = "`{var}.set(...)` in `{func}`: {problem}; reset it in `finally` so the value does not leak"
    fix_title = "Bind the token and reset it in `try/finally`"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        CONTEXT_PY + """
async def middleware(request, call_next):
    token = request_id.set("abc")
    try:
        return await call_next(request)
    finally:
        request_id.reset(token)
""",
        # generator dependency, reset after the yield
        Valid("""
from app.context import request_id

async def bind_request_id():
    token = request_id.set("abc")
    try:
        yield
    finally:
        request_id.reset(token)
""", files={"app/__init__.py": "", "app/context.py": CONTEXT_PY}, path="app/deps.py"),
        CONTEXT_PY + """
from contextlib import ExitStack

def handle(job):
    with ExitStack() as stack:
        token = request_id.set(job.id)
        stack.callback(request_id.reset, token)
        return job.run()
""",
        # run in a copied context: the set cannot leak into the caller
        CONTEXT_PY + """
import contextvars

def work(job_id):
    request_id.set(job_id)
    return job_id

def run(job_id):
    return contextvars.copy_context().run(work, job_id)
""",
        # the token is handed to the caller, who resets it
        CONTEXT_PY + """
def bind(value):
    return request_id.set(value)

def bind_and_keep(value, tokens):
    token = request_id.set(value)
    tokens.append(token)
""",
        # restored by hand in finally
        CONTEXT_PY + """
def handle(job):
    previous = request_id.get()
    request_id.set(job)
    try:
        return job.run()
    finally:
        request_id.set(previous)
""",
        # not a ContextVar: a set, a local class, a shadowing parameter
        """
from contextvars import ContextVar

seen = set()

class Setting:
    def set(self, value):
        self.value = value

setting = Setting()

def f(request_id: ContextVar):
    seen.add(1)
    setting.set(2)
    request_id.set(3)
""",
        # a setter: changing the caller's context is its purpose
        CONTEXT_PY + """
import contextvars

_user = contextvars.ContextVar("user", default=None)

def set_request_context(rid, user=None):
    \"\"\"Bind the ids for the current context.\"\"\"
    if not rid:
        raise ValueError(rid)
    request_id.set(rid)
    if user is not None:
        _user.set(user)
    return None
""",
        # a closure run inside the enclosing function's try/finally that restores the variable
        CONTEXT_PY + """
async def run_steps(steps, on_step):
    def after_step():
        request_id.set("-")

    token = request_id.set("steps")
    try:
        for step in steps:
            await step(after_step)
    finally:
        request_id.reset(token)
""",
        # a context manager restores the value in `__exit__`
        CONTEXT_PY + """
class as_request:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        self.previous = request_id.get()
        request_id.set(self.value)

    def __exit__(self, *exc):
        request_id.set(self.previous)
""",
        # an async context manager keeps the token on its instance (LL303 is about middleware)
        CONTEXT_PY + """
class bound:
    def __init__(self, value):
        self.value = value

    async def __aenter__(self):
        self.token = request_id.set(self.value)

    async def __aexit__(self, *exc):
        request_id.reset(self.token)
""",
    ]
    invalid = [
        Invalid(CONTEXT_PY + """
from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def add_request_id(request: Request, call_next):
    request_id.set(request.headers.get("x-request-id", "-"))  # per request
    response = await call_next(request)
    response.headers["x-request-id"] = request_id.get()
    return response
""", line=12, column=5, message="`request_id.set(...)` in `add_request_id`: its token is discarded",
            fixed=CONTEXT_PY + """
from fastapi import FastAPI, Request

app = FastAPI()


@app.middleware("http")
async def add_request_id(request: Request, call_next):
    token = request_id.set(request.headers.get("x-request-id", "-"))  # per request
    try:
        response = await call_next(request)
        response.headers["x-request-id"] = request_id.get()
        return response
    finally:
        request_id.reset(token)
"""),
        # imported from another linted module under an alias; reset only on the happy path
        Invalid("""
from app.context import request_id as rid


async def dispatch(request, call_next):
    tok = rid.set("abc")
    response = await call_next(request)
    rid.reset(tok)
    return response
""", files={"app/__init__.py": "", "app/context.py": CONTEXT_PY}, path="app/middleware.py", line=5,
            message="reset only on the happy path", fixed="""
from app.context import request_id as rid


async def dispatch(request, call_next):
    tok = rid.set("abc")
    try:
        response = await call_next(request)
        return response
    finally:
        rid.reset(tok)
"""),
        Invalid("""
import contextvars as cvs

user = cvs.ContextVar("user")

def get_user(token):
    tok = user.set(token)
    try:
        yield token
    except Exception:
        user.reset(tok)
        raise
""", line=6, message="reset only in `except`"),
        # a BaseHTTPMiddleware subclass
        Invalid(CONTEXT_PY + """
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        request_id.set("x")
        return await call_next(request)
""", line=10, message="in `dispatch`"),
        # a worker loop: each job's value leaks into the next
        Invalid(CONTEXT_PY + """
def worker(queue, token):
    for job in queue:
        request_id.set(job.id)
        job.run()
""", line=7, message="token is discarded"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "set":
            return
        target = _set_target(self.ctx, node)
        if target is None:
            return
        fn, var = target
        if fn.name.value in ("__enter__", "__aenter__") and self.ctx.enclosing_class(fn) is not None:
            return  # the context manager's `__exit__` owns the cleanup
        if fn.name.value in cv.functions_run_in_copied_context(self.ctx):
            return
        index = flow.index_of(self.ctx, fn)
        if index.in_finally(node) or cv.restored_in_finally(self.ctx, index, var):
            return
        for outer in self.ctx.ancestors(fn):
            if isinstance(outer, cst.FunctionDef) and \
                    cv.restored_in_finally(self.ctx, flow.index_of(self.ctx, outer), var):
                return  # a closure called inside the enclosing function's try/finally
        roles = web.roles_of(self.ctx, fn)
        if isinstance(self.ctx.parent(node), cst.Expr) and not (roles.middleware or roles.dependency) and \
                cv.is_setter_tail(index, index.statement_of(node)):
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
        self.report(node, var=self.ctx.code(var), func=fn.name.value, problem=problem,
                    fix=self._fix(fn, index, node, var, token))

    def _fix(self, fn: cst.FunctionDef, index: FunctionIndex, call: cst.Call, var: cst.BaseExpression,
             token: Optional[str]) -> Optional[Fix]:
        statement = index.statement_of(call)
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
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


class ContextVarCreatedInFunction(_ContextVarRule):
    """## What it does
    Finds `contextvars.ContextVar(...)` called inside a function or method (including `__init__`).

    ## Why is this bad?
    The Python documentation says context variables should be created at the top level of a module,
    never in closures. Every call makes a *new* variable: a value set on one is invisible through the
    next, and each context that ever set one keeps it (and its value) alive in its mapping, so a
    variable created per request or per instance grows memory with traffic.

    ## Example
    ```python
    class RequestContext:
        def __init__(self):
            self.user = ContextVar("user", default=None)
    ```

    Use instead:
    ```python
    _user: ContextVar[User | None] = ContextVar("user", default=None)

    class RequestContext:
        user = _user
    ```
    """

    code = "LL302"
    name = "contextvar-created-in-function"
    message = "`ContextVar` created inside `{func}`: create it once at module level"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return cv.may_create_contextvar(summary, project)

    valid = [
        CONTEXT_PY,
        # class bodies run once
        """
import contextvars

class Context:
    user = contextvars.ContextVar("user", default=None)
""",
        # not contextvars' ContextVar
        """
class ContextVar:
    def __init__(self, name):
        self.name = name

def make():
    return ContextVar("x")
""",
        Valid("""
from app.context import request_id

def handler():
    return request_id.get()
""", files={"app/__init__.py": "", "app/context.py": CONTEXT_PY}, path="app/views.py"),
    ]
    invalid = [
        Invalid("""
from contextvars import ContextVar as CV

class RequestContext:
    def __init__(self):
        self.user = CV("user", default=None)
""", line=5, column=21, message="inside `__init__`"),
        Invalid("""
import contextvars

def middleware_factory(app):
    var = contextvars.ContextVar("state")

    async def middleware(scope, receive, send):
        var.set(scope)
        await app(scope, receive, send)
    return middleware
""", line=4, message="inside `middleware_factory`"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if "ContextVar" not in name and not isinstance(func, cst.Name):
            return
        fn = self.ctx.current_function()
        if fn is None or not cv.is_contextvar_constructor(self.ctx, node):
            return
        self.report(node, func=fn.name.value)


class ContextVarTokenOnSharedObject(_ContextVarRule):
    """## What it does
    Finds a ContextVar token (the result of `var.set(...)`) stored on `self`, on a class or in a
    module-level variable inside a middleware (`@app.middleware("http")`, `BaseHTTPMiddleware.dispatch`,
    a pure ASGI `__call__(scope, receive, send)`).

    ## Why is this bad?
    One middleware instance serves every request at once. Request B overwrites the token request A
    stored, so A resets with B's token (`ValueError: <Token> was created in a different Context`) or
    not at all, and the value set for A leaks. Tokens are per call: keep them in a local variable.

    ## Example
    ```python
    class RequestIdMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            self.token = request_id.set(request.headers["x-request-id"])
            try:
                return await call_next(request)
            finally:
                request_id.reset(self.token)
    ```

    Use instead:
    ```python
    class RequestIdMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            token = request_id.set(request.headers["x-request-id"])
            try:
                return await call_next(request)
            finally:
                request_id.reset(token)
    ```
    """

    code = "LL303"
    name = "contextvar-token-on-shared-object"
    message = "ContextVar token stored in `{target}` in middleware `{func}`: concurrent requests overwrite it"

    valid = [
        CONTEXT_PY + """
class RequestIdMiddleware:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        token = request_id.set("x")
        try:
            await self.app(scope, receive, send)
        finally:
            request_id.reset(token)
""",
        # per-request state is not shared
        CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

@app.middleware("http")
async def mw(request, call_next):
    request.state.token = request_id.set("x")
    try:
        return await call_next(request)
    finally:
        request_id.reset(request.state.token)
""",
        # not a middleware: a context manager object is per use
        CONTEXT_PY + """
class bound:
    def __enter__(self):
        self.token = request_id.set("x")

    def __exit__(self, *exc):
        request_id.reset(self.token)
""",
    ]
    invalid = [
        Invalid(CONTEXT_PY + """
from starlette.middleware.base import BaseHTTPMiddleware


class RequestIdMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        self.token = request_id.set(request.headers.get("x-request-id", "-"))
        try:
            return await call_next(request)
        finally:
            request_id.reset(self.token)
""", line=10, column=22, message="`self.token` in middleware `dispatch`"),
        Invalid("""
from app.context import request_id


class RequestIdMiddleware:
    def __init__(self, app):
        self.app = app
        self.tokens = []

    async def __call__(self, scope, receive, send):
        token = request_id.set("x")
        self.tokens.append(token)
        try:
            await self.app(scope, receive, send)
        finally:
            request_id.reset(self.tokens.pop())
""", files={"app/__init__.py": "", "app/context.py": CONTEXT_PY}, path="app/middleware.py", line=10,
            message="`self.tokens`"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if not isinstance(node.func, cst.Attribute) or node.func.attr.value != "set":
            return
        target = _set_target(self.ctx, node)
        if target is None:
            return
        fn, _ = target
        if not web.roles_of(self.ctx, fn).middleware:
            return
        index = flow.index_of(self.ctx, fn)
        shared = _shared_target(self.ctx, index, fn, self.ctx.parent(node), node)
        if shared is None:
            token = flow.assigned_name(index, node)
            if token is not None:
                for load in index.loads(token):
                    shared = _shared_target(self.ctx, index, fn, index.parent.get(load), load)
                    if shared is not None:
                        break
        if shared is not None:
            self.report(node, target=shared, func=fn.name.value)


def _self_name(fn: cst.FunctionDef) -> Optional[str]:
    params = fn.params.posonly_params or fn.params.params
    return params[0].name.value if params else None


def _root_name(expr: cst.BaseExpression) -> Optional[str]:
    while isinstance(expr, (cst.Attribute, cst.Subscript)):
        expr = expr.value
    return expr.value if isinstance(expr, cst.Name) else None


def _shared_target(ctx, index: FunctionIndex, fn: cst.FunctionDef, parent, value) -> Optional[str]:
    """Where ``value`` (a token) is stored, when that place is shared between requests."""
    target = None
    if isinstance(parent, cst.Assign) and parent.value is value and len(parent.targets) == 1:
        target = parent.targets[0].target
    elif isinstance(parent, cst.AnnAssign) and parent.value is value:
        target = parent.target
    elif isinstance(parent, cst.Arg):
        call = index.parent.get(parent)
        if isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                call.func.attr.value in ("append", "add", "insert", "setdefault", "put", "put_nowait"):
            target = call.func.value
    if target is None:
        return None
    root = _root_name(target)
    if root is None:
        return None
    owner = ctx.enclosing_class(fn)
    if owner is not None and root == _self_name(fn) and not (
            isinstance(target, cst.Attribute) and isinstance(target.value, cst.Attribute)
            and target.value.attr.value == "state"):
        return ctx.code(target)
    if isinstance(target, cst.Name) and aio.declared_outside(index, root):
        return root
    if not isinstance(target, cst.Name) and root in ctx.summary.definitions and not _locally_bound(index, root):
        return ctx.code(target)  # `_tokens[...] = token` on a module-level dict
    return None


def _locally_bound(index: FunctionIndex, name: str) -> bool:
    params = index.fn.params
    names = {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}
    return name in names or bool(index.assignments(name))
