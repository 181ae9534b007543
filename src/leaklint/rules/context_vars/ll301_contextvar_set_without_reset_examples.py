"""LL301's examples, kept apart from the rule to keep both short: the invalid ones here, the valid ones
in ``ll301_contextvar_set_without_reset_valid_examples``."""

from __future__ import annotations

from leaklint.rule import Invalid
from leaklint.rules.context_vars._common import CONTEXT_PY
from leaklint.rules.context_vars.ll301_contextvar_set_without_reset_valid_examples import VALID

__all__ = ["INVALID", "VALID"]

INVALID = [
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
    # a job run on an executor thread: the pooled thread's context outlives it
    Invalid(CONTEXT_PY + """
import asyncio

def render(job_id):
    request_id.set(job_id)
    return job_id * 2

async def schedule(job_id):
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, render, job_id)
""", line=8, message="(on an executor thread, whose context outlives the job)"),
    # a Celery job: the worker process runs job after job in one context
    Invalid(CONTEXT_PY + """
from celery import shared_task

@shared_task
def process(job_id):
    request_id.set(job_id)
    print(job_id)
""", line=9, message="(in a worker job"),
    # `__enter__` without an `__exit__` that restores the value
    Invalid(CONTEXT_PY + """
class bind:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        request_id.set(self.value)
        return self

    def __exit__(self, *exc):
        return False
""", line=10),
]
