"""LL403 startup-task-never-cancelled: an endless background task started at startup and never cancelled."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.rules.tasks._common import _TaskRule
from leaklint.rules.tasks.ll403_startup_task_never_cancelled_examples import INVALID, VALID
from leaklint.semantics import asyncio_ as aio
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow


class StartupTaskNeverCancelled(_TaskRule):
    """## What it does
    Finds a background task started at application startup - in a `lifespan` before its `yield`, or
    in an `@app.on_event("startup")` handler - that runs an endless loop (`while True:` with no
    `break` or `return`) and is never cancelled: the task is dropped, or kept in a variable or
    attribute on which nothing in the module calls `.cancel()`.

    ## Why is this bad?
    At shutdown the loop keeps running while the application tears down its database engine, HTTP
    clients and caches underneath it. When the app is started more than once on the same event loop
    (tests, embedded servers), every startup adds one more immortal loop holding its references;
    when the event loop closes, asyncio destroys the pending task mid-iteration and warns
    `Task was destroyed but it is pending!`. Started per request, every request adds one more
    immortal loop holding whatever it references: memory and CPU grow with traffic until the
    process is restarted.

    ## Example
    ```python
    @asynccontextmanager
    async def lifespan(app):
        asyncio.create_task(refresh_prices())
        yield
    ```

    Use instead:
    ```python
    @asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(refresh_prices())
        try:
            yield
        finally:
            task.cancel()
    ```

    ## Known problems
    Only loops in functions of the same module (or methods of the same class), or module-level
    functions of another linted module, are recognised; a task that is passed anywhere or
    mentioned again in the module is assumed to be cancelled. A helper that starts the loop and
    is only called from a startup hook of another module is not seen as startup code.
    """

    code = "LL403"
    name = "startup-task-never-cancelled"
    message = "{origin} running `{coro}` loops forever and is never cancelled{tail}"

    valid = VALID
    invalid = INVALID

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not aio.file_may_spawn(self.ctx):
            return
        startup = web.roles_of(self.ctx, node).startup
        if not startup and not web.runs_per_request(self.ctx, node):
            return
        index = flow.index_of(self.ctx, node)
        calls = [c for c in index.all(cst.Call) if aio.quick_spawn_candidate(c)]
        if not calls:
            return
        calls = [c for c in calls if c.args and aio.spawn_of(self.ctx, c, node) is not None]
        first_yield, order = None, {}
        if calls and startup and index.all(cst.Yield):  # a lifespan: only what runs before its `yield`
            order = {id(n): i for i, (n, _) in enumerate(flow.walk_with_parents(node.body))}
            yields = [order[id(y)] for y in index.all(cst.Yield) if id(y) in order]
            first_yield = min(yields) if yields else None
        for call in calls:
            if first_yield is not None and order.get(id(call), 0) > first_yield:
                continue
            coro = call.args[0].value
            name = self._endless_coroutine(index, coro, per_request=not startup)
            if name is None or self._may_be_cancelled(index, call):
                continue
            if startup:
                self.report(call, origin="Startup task", coro=name, tail=" at shutdown")
            else:
                self.report(call, origin="Task started per request", coro=name,
                            tail=f" ({web.request_path(self.ctx, node)}): every request adds one more loop")

    def _endless_coroutine(self, index, coro, per_request: bool = False) -> Optional[str]:
        """The name of the function ``coro`` calls, when it loops forever. Per request, only a loop
        that uses none of its parameters: one that serves the request's websocket or stream ends
        with it (by an exception), and a method may belong to an object made for the request."""
        if not isinstance(coro, cst.Call):
            return None
        func = coro.func
        if per_request:
            target = self._plain_function(index, func)
            if target is None and isinstance(func, cst.Name) and not coro.args:
                # a module-level loop of another linted module, started with no request object
                definitions = [self.ctx.project.definition(self.ctx.project.canonical(q))
                               for q in self.ctx.qualify(func)]
                if definitions and all(d is not None and d.runs_forever for d in definitions):
                    return func.value
            if target is None or not aio.endless_loop(target) or _loop_uses_parameters(target):
                return None
            return target.name.value
        target = None
        if isinstance(func, cst.Name):
            for inner in index.all(cst.FunctionDef):
                if inner.name.value == func.value:
                    target = inner
                    break
            else:
                qualified = self.ctx.qualify(func)
                if qualified == frozenset({f"{self.ctx.summary.module}.{func.value}"}):
                    target = _module_function(self.ctx.module, func.value)
                else:  # defined in another linted module
                    definitions = [self.ctx.project.definition(q) for q in qualified]
                    if definitions and all(d is not None and d.runs_forever for d in definitions):
                        return func.value
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            # `self._loop()` / `instance._loop()`: a method of a class in this module
            target = _any_method(self.ctx.module, func.attr.value)
        return target.name.value if target is not None and aio.endless_loop(target) else None

    def _plain_function(self, index, func) -> Optional[cst.FunctionDef]:
        """``poll()``: a function nested here or defined at this module's top level."""
        if not isinstance(func, cst.Name):
            return None
        for inner in index.all(cst.FunctionDef):
            if inner.name.value == func.value:
                return inner
        if self.ctx.qualify(func) == frozenset({f"{self.ctx.summary.module}.{func.value}"}):
            return _module_function(self.ctx.module, func.value)
        return None

    def _may_be_cancelled(self, index, call: cst.Call) -> bool:
        parent = index.parent.get(call)
        if isinstance(parent, cst.Expr):
            return False
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            if len(targets) != 1:
                return True
            target = targets[0]
            if isinstance(target, cst.Name) and not aio.declared_outside(index, target.value):
                if target.value == "_":
                    return False
                reads = aio.reads_outside_done_callbacks(index, target.value)
                added = [r for r in reads if _added_to_collection(index, r)]
                if len(added) != len(reads):
                    return True  # awaited, passed on, stored: assume its owner cancels it
                # kept in a set (the LL401 recipe): cancelled only if the module cancels anything
                return bool(added) and _module_cancels_something(self.ctx)
            name = target.attr.value if isinstance(target, cst.Attribute) else \
                target.value if isinstance(target, cst.Name) else None
            if name is None:
                return True
            return _mentioned_elsewhere(self.ctx.module, name, target)
        return True


def _loop_uses_parameters(fn: cst.FunctionDef) -> bool:
    params = {p.name.value for p in (*fn.params.posonly_params, *fn.params.params, *fn.params.kwonly_params)}
    return any(isinstance(n, cst.Name) and n.value in params for n in flow.walk(fn.body, own_scope=True))


def _added_to_collection(index, load: cst.CSTNode) -> bool:
    arg = index.parent.get(load)
    call = index.parent.get(arg) if isinstance(arg, cst.Arg) else None
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
        call.func.attr.value in ("add", "append") and isinstance(index.parent.get(call), cst.Expr)


def _module_cancels_something(ctx) -> bool:
    key = "tasks-module-cancels"
    if key not in ctx.cache:
        ctx.cache[key] = b".cancel" in ctx.source and any(
            isinstance(n, cst.Attribute) and n.attr.value == "cancel" for n, _ in flow.walk_with_parents(ctx.module))
    return ctx.cache[key]


def _module_function(module: cst.Module, name: str) -> Optional[cst.FunctionDef]:
    for stmt in module.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value == name:
            return stmt
    return None


def _any_method(module: cst.Module, name: str) -> Optional[cst.FunctionDef]:
    found = [m for stmt in module.body if isinstance(stmt, cst.ClassDef) for m in stmt.body.body
             if isinstance(m, cst.FunctionDef) and m.name.value == name]
    return found[0] if len(found) == 1 else None


def _mentioned_elsewhere(module: cst.Module, name: str, target: cst.CSTNode) -> bool:
    """The global ``name`` (or, for an attribute target, an attribute ``.name``) is used anywhere
    but in ``target`` itself: someone may cancel it."""
    inside = {id(n) for n, _ in flow.walk_with_parents(target)}
    attribute = isinstance(target, cst.Attribute)
    for node, parent in flow.walk_with_parents(module):
        if not isinstance(node, cst.Name) or node.value != name or id(node) in inside:
            continue
        if isinstance(parent, cst.NameItem):
            continue  # `global name`
        if attribute != (isinstance(parent, cst.Attribute) and parent.attr is node):
            continue
        return True
    return False
