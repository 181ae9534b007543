"""LL106 unclosed-resource: a resource of a kind the project declares, not released on every path."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Invalid, Rule, Valid
from leaklint.semantics import flow, obligations

PYPROJECT = """
[tool.leaklint.resources.redis-pool]
acquire = ["app.cache.open_pool"]
release = ["disconnect", "aclose"]
label = "Redis pool"
"""

CACHE = """
import redis.asyncio as redis


def open_pool(url):
    return redis.ConnectionPool.from_url(url)


def make_pool():
    return open_pool("redis://localhost")


async def release(pool):
    await pool.disconnect()
"""

PROJECT = {"pyproject.toml": PYPROJECT, "app/__init__.py": "", "app/cache.py": CACHE}


class UnclosedResource(Rule):
    """## What it does
    Finds a resource of a kind declared in `[tool.leaklint.resources]` - made by one of its
    `acquire` functions or classes, or by a project helper that returns one - bound in a function
    and not released on every path: no `with`, no call of one of its `release` methods in a
    `finally` (directly or through a helper that releases it), and not returned, yielded, stored or
    handed to code that may own it. A resource used inline and dropped is never released.

    ```toml
    [tool.leaklint.resources.redis-pool]
    acquire = ["myapp.cache.open_pool"]   # qualified names of functions or classes
    release = ["disconnect"]              # method names that release it
    label = "Redis pool"                  # how messages name it (optional)
    ```

    ## Why is this bad?
    Every kind a team declares is one whose instances hold something the process has little of:
    connections, sockets, file descriptors, locks, native memory. Released only on the happy path,
    each failing call leaks one; under load the service runs out.

    ## Example
    ```python
    async def warm_cache():
        pool = open_pool(REDIS_URL)
        await fill(pool)
        await pool.disconnect()
    ```

    Use instead:
    ```python
    async def warm_cache():
        pool = open_pool(REDIS_URL)
        try:
            await fill(pool)
        finally:
            await pool.disconnect()
    ```

    ## Known problems
    The rule knows only the kinds the configuration declares; it reports nothing without them. A
    resource handed to code leaklint cannot see is assumed to be owned by the callee.
    """

    code = "LL106"
    name = "unclosed-resource"
    message = "{label} `{var}` is {problem}; release it with `{release}` in `finally` or use `with`"
    family = "sessions"

    valid = [
        Valid("""
from app.cache import open_pool, release

async def warm():
    pool = open_pool("redis://")
    try:
        await pool.ping()
    finally:
        await release(pool)
""", files=PROJECT, path="app/jobs.py"),
        Valid("""
from app.cache import open_pool

def make():
    pool = open_pool("redis://")
    return pool
""", files=PROJECT, path="app/jobs.py"),
        # no declared kinds: nothing to report
        Valid("""
from app.cache import open_pool

async def warm():
    pool = open_pool("redis://")
    await pool.ping()
""", files={"app/__init__.py": "", "app/cache.py": CACHE}, path="app/jobs.py"),
    ]
    invalid = [
        Invalid("""
from app.cache import open_pool

async def warm():
    pool = open_pool("redis://")
    await pool.ping()
    await pool.disconnect()
""", files=PROJECT, path="app/jobs.py", line=4, column=12,
            message="Redis pool `pool` is released only on the happy path; release it with `disconnect`"),
        # a project helper returns one
        Invalid("""
from app.cache import make_pool

async def warm():
    pool = make_pool()
    await pool.ping()
""", files=PROJECT, path="app/jobs.py", line=4, message="is never released"),
    ]

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        table = project.table
        if table is None or not any(k.user for k in table.kinds):
            return False
        acquire = table.acquire_names
        returns = project.ownership.returns if project.ownership is not None else {}
        return any(project.canonical(q) in acquire or project.canonical(q) in returns for q in summary.called)

    def _kind(self, call: cst.Call):
        table = self.ctx.project.table
        names = self.ctx.qualify(call.func)
        found = table.acquired_by(names)
        if found is None:
            returns = self.ctx.project.ownership.returns
            kind_name = next((returns[n][0] for n in sorted(names) if n in returns), None)
            kind = table.kind(kind_name) if kind_name else None
            return kind if kind is not None and kind.user else None
        return found[0] if found[0].user else None

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        index = flow.index_of(self.ctx, node)
        for call in index.all(cst.Call):
            kind = self._kind(call)
            if kind is None:
                continue
            name = flow.assigned_name(index, call)
            release = kind.primary_release or sorted(kind.release)[0]
            if name is None:
                parent = index.parent.get(call)
                if isinstance(parent, cst.Attribute) and parent.value is call and parent.attr.value not in kind.release:
                    self.report(call, label=kind.label, var=self.ctx.code(call.func) + "()", problem="never released",
                                release=release)
                continue
            if len(index.assignments(name)) != 1 or obligations.managed_by_with(self.ctx, index, call, name) or \
                    obligations.hands_over(self.ctx, index, name):
                continue
            releases = obligations.release_calls(self.ctx, index, name, kind.release)
            if obligations.covers_every_path(index, releases):
                continue
            problem = "released only on the happy path" if releases else "never released"
            self.report(call, label=kind.label, var=name, problem=problem, release=release)
