"""What the LL2xx rules share: the family base class of the decorator rules, a qualified-name helper, and how LL204 reads literal entries."""

from __future__ import annotations

from typing import Optional

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


_NEW_CONTAINERS = (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)


def _resets_entry(store: cst.Subscript, parents) -> bool:
    """``self.x["refs"] = [first]``: a new container replaces the entry. Not a lazy set-up
    (``if "refs" not in self.x: self.x["refs"] = []``) nor ``self.x.get("refs", [])``, which keep it."""
    assign = parents.get(parents.get(store))
    if not isinstance(assign, cst.Assign):
        return False
    values = [assign.value.body, assign.value.orelse] if isinstance(assign.value, cst.IfExp) else [assign.value]
    if not all(isinstance(v, _NEW_CONTAINERS) for v in values):
        return False
    return not state.only_overwrites(store, parents) and not state.lazily_set(store, parents)


def _literal_entry(node: cst.CSTNode) -> Optional[str]:
    """``X["refs"].append(v)`` / ``X["refs"] = v`` -> ``"refs"`` (the key as written)."""
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
        node = node.func.value
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index) \
            and isinstance(node.slice[0].slice.value, cst.SimpleString):
        return str(node.slice[0].slice.value.evaluated_value)
    return None
