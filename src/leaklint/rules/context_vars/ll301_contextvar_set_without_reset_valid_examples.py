"""LL301's valid examples (the invalid ones are in ``ll301_contextvar_set_without_reset_examples``)."""

from __future__ import annotations

from leaklint.rule import Valid
from leaklint.rules.context_vars._common import CONTEXT_PY

VALID = [
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
    # a setter whose purpose is to change its caller's context, called per request
    Valid(CONTEXT_PY + """
from fastapi import FastAPI

app = FastAPI()

def init_request_context(value):
    request_id.set(value)
    return value

@app.get("/")
async def index():
    init_request_context("abc")
    return {}
"""),
    # take-and-clear, and a get-or-create memo kept in the context on purpose
    CONTEXT_PY + """
from contextvars import ContextVar
from fastapi import FastAPI

app = FastAPI()
cache: ContextVar[dict] = ContextVar("cache")

def take():
    value = request_id.get()
    request_id.set(None)
    return value

def request_cache():
    memo = cache.get(None)
    if memo is None:
        memo = {}
        cache.set(memo)
    return memo

@app.get("/")
def index():
    request_cache()["x"] = take()
    return {}
""",
    # a helper nobody calls per request, in a loop, on an executor or in a worker: who calls it decides
    CONTEXT_PY + """
def configure(value):
    request_id.set(value)
    print("configured", value)
""",
    # a get-or-create default kept in the context on purpose, written with LookupError
    CONTEXT_PY + """
from contextvars import ContextVar
from fastapi import FastAPI

app = FastAPI()
settings: ContextVar[dict] = ContextVar("settings")

def current_settings():
    try:
        return settings.get()
    except LookupError:
        value = {"redact": True}
        settings.set(value)
        return value

@app.get("/")
def index():
    return current_settings()
""",
]
