"""LL203 cached-instance-method: `lru_cache` / `cache` on an instance method (the cache keeps every `self` alive)."""

from __future__ import annotations

from typing import Optional, Tuple

import libcst as cst

from leaklint.rules.caches._common import _CacheRule
from leaklint.rules.caches.ll203_cached_instance_method_examples import INVALID, VALID
from leaklint.semantics import state
from leaklint.semantics.instances import has_runtime_instances
from leaklint.semantics.names import matches


class CachedInstanceMethod(_CacheRule):
    """## What it does
    Finds `functools.cache` / `functools.lru_cache(maxsize=None)` (any alias) on an instance
    method of a class the project constructs over and over: by name in a function body (not an
    `@lru_cache` factory), or as a `Depends(Cls)` dependency - the class or any subclass of it.
    A bounded `lru_cache` (bare: 128 entries) is reported only on a class constructed per request
    (in a route, a dependency or what they call): it pins the last requests' objects.
    Methods of `Enum` classes, `staticmethod`s and `classmethod`s are not reported, nor are methods
    of a class only instantiated at module level, in a cached factory, in the `__init__` of such a
    class, or by a framework (a process-lifetime singleton, a model or actor class: the cache holds
    nothing that would otherwise be freed).

    ## Why is this bad?
    The cache lives on the function, i.e. on the class, for the life of the process, and its keys
    include `self`: every instance the method was called on stays alive (with everything it
    references) until it is evicted, for an unbounded cache never. Objects created per request are
    never freed.

    ## Example
    ```python
    class Repository:
        @lru_cache
        def find(self, key):
            ...
    ```

    Use instead: `functools.cached_property` for a per-instance value, a cache stored on the instance
    (`self._cache = {}` with a bound), or a module-level cached function that takes the data the
    method needs rather than `self`.

    ## Known problems
    ruff and flake8-bugbear report the same pattern as B019, on every class. A class whose
    instances are only made outside the linted files (a library's public class) is not reported
    here: lint the code that uses it along with it.
    """

    code = "LL203"
    name = "cached-instance-method"
    message = "`{decorator}` on method `{func}` keeps {held} alive: use `cached_property` or a module-level cache"
    overlaps = "flake8-bugbear / ruff B019 (cached-instance-method)"

    valid = VALID
    invalid = INVALID

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        cls = self.ctx.enclosing_class(node)
        if cls is None or state.decorated_with(self.ctx, node, state.STATIC_OR_CLASS):
            return
        if not (node.params.params or node.params.posonly_params) or state.is_enum_class(self.ctx, cls):
            return
        for decorator in node.decorators:
            found = self._cache(node, decorator)
            if found is None:
                continue
            label, limit = found
            # unbounded: any instance made over and over stays; bounded: the last `limit` stay, which
            # matters only for objects made per request (each pins a request's data)
            if self._many_instances(cls, per_request=limit is not None):
                held = "every `self` it was called with" if limit is None else \
                    f"the last {limit} `self`s it was called with"
                self.report(decorator.decorator, decorator=label, func=node.name.value, held=held)
            return

    def _many_instances(self, cls: cst.ClassDef, per_request: bool) -> bool:
        """Evidence of many instances; without it the cache holds what would stay alive anyway."""
        if self.ctx.enclosing(cst.FunctionDef, cls) is not None:
            return True  # a class defined in a function is made again on every call
        return has_runtime_instances(self.ctx.project, f"{self.ctx.summary.module}.{cls.name.value}", per_request)

    def _cache(self, fn: cst.FunctionDef, decorator: cst.Decorator) -> Optional[Tuple[str, Optional[str]]]:
        """``(label, limit)`` of a cache decorator: limit None when unbounded, else its ``maxsize``."""
        found = state.cache_decorator(self.ctx, decorator, self.ctx.parent(fn))
        if found is not None:
            return found.kind, None if found.unbounded else _maxsize(decorator.decorator)
        # ``memo = lru_cache(maxsize=None)`` defined in a linted module, used as ``@memo``
        expr = decorator.decorator
        if isinstance(expr, (cst.Name, cst.Attribute)):
            for q in self.ctx.qualify(expr, self.ctx.parent(fn)):
                definition = self.ctx.project.definition(q) or (
                    self.ctx.summary.definitions.get(q.rpartition(".")[2])
                    if q.rpartition(".")[0] == self.ctx.summary.module else None)
                if definition is not None and definition.kind == "call" and matches(
                        self.ctx.project.canonical_all(definition.callee), state.LRU_CACHE | state.CACHE):
                    unbounded = definition.keywords.get("maxsize") == ("None",) or matches(
                        self.ctx.project.canonical_all(definition.callee), state.CACHE)
                    return "lru_cache", None if unbounded else "`maxsize`"
        return None


def _maxsize(expr: cst.BaseExpression) -> str:
    """``128`` for a bare ``@lru_cache`` / ``@lru_cache()``, the literal given, else ``maxsize``."""
    if not isinstance(expr, cst.Call):
        return "128"
    for i, arg in enumerate(expr.args):
        if (arg.keyword is not None and arg.keyword.value == "maxsize") or (arg.keyword is None and i == 0):
            return arg.value.value if isinstance(arg.value, cst.Integer) else "`maxsize`"
    return "128"
