"""LL304 contextvar-set-in-request (preview): a `var.set(...)` in per-request code that is never reset."""

from __future__ import annotations

from leaklint.rule import Invalid
from leaklint.rules.context_vars._common import CONTEXT_PY
from leaklint.rules.context_vars.ll301_contextvar_set_without_reset import ContextVarSetWithoutReset


class ContextVarSetInRequest(ContextVarSetWithoutReset):
    """## What it does
    Finds `var.set(...)` on a `contextvars.ContextVar` in code that runs per request - a route, a
    dependency (also the closure a dependency factory returns), a background task, or any function
    they call, in any module - whose token is not passed to `var.reset(token)` in a `finally`.

    ## Why is this bad?
    Usually it is not a leak: under uvicorn or hypercorn each request runs in a task of its own,
    and the value dies with that task. But until then it stays visible to everything that runs
    later in the request's context - the rest of the handler, `BackgroundTasks` run after the
    response, and every task spawned from it (they copy the context) - and keeps what it refers to
    alive for that long. That matters when the value is large (a request body, a model), when
    later code must not see it (a tenant, a user), or when the function also runs outside a request
    (a worker, a loop), where LL301 applies. This rule is in preview: on real applications most of
    these sets were deliberate.

    ## Example
    ```python
    @app.get("/report")
    async def report(user=Depends(current_user)):
        current_tenant.set(user.tenant)
        background.add_task(send_report)  # still sees the tenant
        return build_report()
    ```

    Use instead:
    ```python
    @app.get("/report")
    async def report(user=Depends(current_user)):
        token = current_tenant.set(user.tenant)
        try:
            return build_report()
        finally:
            current_tenant.reset(token)
    ```

    ## Fix safety
    As LL301: the fix binds the token and wraps the rest of the function in `try/finally`; it is
    **unsafe** (code that relied on the value staying set changes behaviour), and it is not offered
    for setter helpers.
    """

    code = "LL304"
    name = "contextvar-set-in-request"
    preview = True
    request_scoped = True

    valid = [
        # reset in `finally`
        CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
async def index():
    token = request_id.set("x")
    try:
        return {}
    finally:
        request_id.reset(token)
""",
        # a worker loop is LL301's, not this rule's
        CONTEXT_PY + """
def worker(queue):
    for job in queue:
        request_id.set(job.id)
        job.run()
""",
    ]
    invalid = [
        Invalid(CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

@app.get("/report")
async def report(tenant: str):
    request_id.set(tenant)
    print("building", tenant)
    return {"tenant": tenant}
""", line=11, message="its token is discarded (the value stays visible", fixed=CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

@app.get("/report")
async def report(tenant: str):
    token = request_id.set(tenant)
    try:
        print("building", tenant)
        return {"tenant": tenant}
    finally:
        request_id.reset(token)
"""),
        # the closure a dependency factory returns
        Invalid(CONTEXT_PY + """
from fastapi import Depends, FastAPI

app = FastAPI()

def with_request_id(value):
    async def dependency():
        request_id.set(value)
        print(value)
    return dependency

@app.get("/", dependencies=[Depends(with_request_id("a"))])
async def index():
    return {}
""", line=11, message="stays visible to everything that runs later in this request's context"),
        # a nested function a route calls
        Invalid(CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
async def index():
    def bind():
        request_id.set("x")
        print("bound")
    bind()
    return {}
""", line=12, message="in `bind`"),
    ]
