"""LL601 middleware-instance-state: a middleware that keeps per-request state on its instance."""

from __future__ import annotations

from typing import Dict, List, Set

import libcst as cst

from leaklint.rule import Rule
from leaklint.rules.server.ll601_middleware_instance_state_examples import INVALID, VALID
from leaklint.semantics import fastapi as web
from leaklint.semantics import flow
from leaklint.semantics import state


class MiddlewareInstanceState(Rule):
    """## What it does
    Finds a middleware that keeps per-request state on its instance: in
    `BaseHTTPMiddleware.dispatch` or a pure ASGI middleware's `__call__(self, scope, receive, send)`
    (and functions nested in them), an assignment to `self.<attr>` or a call that grows it
    (`self.<attr>.append(...)`, `self.<attr>[k] = v`, `self.<attr> += ...`).

    ## Why is this bad?
    The middleware is instantiated once, when the application starts, and serves every request.
    A list or dict grown per request grows for the life of the worker, and a plain attribute set per
    request is shared by concurrent requests: one request reads another's value.

    ## Example
    ```python
    class TimingMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            self.start = time.monotonic()
            response = await call_next(request)
            response.headers["x-time"] = str(time.monotonic() - self.start)
            return response
    ```

    Use instead: a local variable, or `request.state` / the ASGI `scope` for values that other code
    needs during the same request.

    ## Known problems
    A one-time lazy initialisation (`if self._ready is None: self._ready = ...`) is not reported,
    nor is an ASGI "responder" class that the module instantiates inside a function (Starlette's
    GZip and body-limit middlewares build one per request, so its state is per request).
    A count or table that a `finally:` of the same method takes back from (`self.active -= 1`,
    `self.per_user.pop(user)`) is an in-flight limiter, shared on purpose: not reported. A plain
    value reset in `finally` still is: concurrent requests see each other's.
    """

    code = "LL601"
    name = "middleware-instance-state"
    message = "`self.{attr}` is {what} on every request in `{cls}.{method}`: one middleware instance serves all requests; use a local variable or `request.state`"
    family = "server"

    valid = VALID
    invalid = INVALID

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return any(f.in_class and p.endswith((".dispatch", ".__call__")) and web.function_roles(summary, project, p).middleware
                   for p, f in summary.functions.items())

    def _per_call_classes(self) -> Set[str]:
        return _per_call_classes_of(self.ctx)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node.name.value not in ("dispatch", "__call__"):
            return
        cls = self.ctx.enclosing_class(node)
        params = list(node.params.params)
        if cls is None or not params or not web.roles_of(self.ctx, node).middleware:
            return
        if f"{self.ctx.summary.module}.{cls.name.value}" in self._per_call_classes():
            return  # an ASGI "responder" built per request by the real middleware: its state is per request
        me = params[0].name.value
        parents = flow.parent_map(node)
        takebacks = _finally_takebacks(node, me)
        reported: Set[str] = set()
        for n in flow.walk(node.body):
            if not (isinstance(n, cst.Attribute) and isinstance(n.value, cst.Name) and n.value.value == me):
                continue
            attr = n.attr.value
            if attr in reported:
                continue
            parent = parents.get(n)
            if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and parent.target is n:
                what, site = "assigned", n
            elif isinstance(parent, cst.AugAssign) and parent.target is n:
                what, site = "updated", n
            else:
                use = state.classify_use(self.ctx, n, parents.get)
                if use.kind != "grow":
                    continue
                what, site = "grown", use.node
            if _guarded_by_itself(n, attr, me, parents) or state.lazily_initialised(n, me, parents):
                continue
            if what != "assigned" and _undone_in_finally(n, attr, me, parents, takebacks):
                continue
            reported.add(attr)
            self.report(site, attr=attr, what=what, cls=cls.name.value, method=node.name.value)


def _per_call_classes_of(ctx) -> Set[str]:
    """Classes of this module instantiated inside a function body (``Responder(self.app)(scope, ...)``)."""
    key = "ll601-per-call-classes"
    if key not in ctx.cache:
        definitions = ctx.summary.definitions
        called = {c for facts in ctx.summary.functions.values() for c in facts.calls}
        ctx.cache[key] = {f"{ctx.summary.module}.{c}" for c in called
                          if c in definitions and definitions[c].kind == "class"}
    return ctx.cache[key]


#: what takes entries or counts back: ``self.x.pop(k)`` / ``.discard`` / ``.remove`` / ``del self.x[k]``
_TAKE_BACK_METHODS = frozenset({"pop", "popitem", "remove", "discard", "popleft"})


def _finally_takebacks(method: cst.FunctionDef, me: str) -> Dict[str, List[cst.Try]]:
    """attr -> the ``try`` statements whose ``finally:`` takes back from ``self.attr``
    (``self.active -= 1``, ``self.per_user.pop(user)``, ``del self.per_user[user]``), once per method."""
    found: Dict[str, List[cst.Try]] = {}
    for n in flow.walk(method.body):
        if not (isinstance(n, cst.Try) and n.finalbody is not None):
            continue
        for inner in flow.walk(n.finalbody):
            target = None
            if isinstance(inner, cst.AugAssign) and isinstance(inner.operator, state.SHRINK_OPERATORS):
                target = inner.target
            elif isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) and \
                    inner.func.attr.value in _TAKE_BACK_METHODS:
                target = inner.func.value
            elif isinstance(inner, cst.Del) and isinstance(inner.target, cst.Subscript):
                target = inner.target.value
            if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == me:
                found.setdefault(target.attr.value, []).append(n)
    return found


def _undone_in_finally(node: cst.CSTNode, attr: str, me: str, parents, takebacks) -> bool:
    """The growth runs in the body of a ``try`` whose ``finally:`` takes it back, or just before that
    ``try`` in the same block: an in-flight count or table, shared on purpose, that holds only the
    requests being served."""
    for trying in takebacks.get(attr, ()):
        child, current = node, parents.get(node)
        while current is not None:
            if current is trying and (child is trying.body or child is trying.finalbody):
                return True
            if isinstance(current, cst.IndentedBlock) and any(s is trying for s in current.body):
                position = next(i for i, s in enumerate(current.body) if s is trying)
                if any(s is child for s in current.body[:position]):
                    return True
            child, current = current, parents.get(current)
    return False


def _guarded_by_itself(node: cst.CSTNode, attr: str, me: str, parents) -> bool:
    """Inside ``if self.attr is None:`` / ``if not self.attr:`` (one-time lazy initialisation)."""
    current = parents.get(node)
    while current is not None and not isinstance(current, cst.FunctionDef):
        if isinstance(current, cst.If):
            for n in flow.walk(current.test):
                if isinstance(n, cst.Attribute) and n.attr.value == attr and isinstance(n.value, cst.Name) \
                        and n.value.value == me:
                    return True
        current = parents.get(current)
    return False
