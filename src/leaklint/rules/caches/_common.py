"""What the LL2xx rules share: the family base class of the decorator rules and a qualified-name helper."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Rule
from leaklint.semantics import state


def _qualified_head(ctx, expr: cst.BaseExpression) -> frozenset:
    if isinstance(expr, cst.Call):
        expr = expr.func
    return ctx.qualify(expr)


class _CacheRule(Rule):
    family = "caches"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return state.decorates_with_cache(summary, project)


def _imported_modules(summary, project):
    for q in summary.imported:
        module = project.modules.get(q.rpartition(".")[0]) or project.modules.get(q)
        if module is not None:
            yield module
