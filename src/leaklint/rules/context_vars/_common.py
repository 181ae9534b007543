"""What the LL3xx rules share: the family base class, the `var.set(...)` lookup and the example context module."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Rule
from leaklint.semantics import contextvars_ as cv

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
