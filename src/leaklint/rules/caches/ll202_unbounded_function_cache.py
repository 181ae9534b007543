"""LL202 unbounded-function-cache: `functools.cache` / `lru_cache(maxsize=None)` on a function that takes arguments."""

from __future__ import annotations

from typing import Optional, Tuple

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, ImportSpec
from leaklint.rules.caches._common import _CacheRule
from leaklint.rules.caches import ll202_configuration_examples as configuration
from leaklint.rules.caches.ll202_unbounded_function_cache_examples import INVALID, VALID
from leaklint.semantics import state
from leaklint.semantics.call_arguments import runs_with_unknown_callers
from leaklint.semantics.names import matches


class UnboundedFunctionCache(_CacheRule):
    """## What it does
    Finds `functools.cache`, `lru_cache(maxsize=None)` and `lru_cache(None)` (any alias) on a
    function that takes arguments. ruff's UP033 rewrites `lru_cache(maxsize=None)` into `cache`:
    both spellings are this one finding.

    ## Why is this bad?
    An unbounded cache keeps one entry per distinct argument tuple for the life of the process.
    Called with request data (ids, query strings, tokens), it grows with traffic and never shrinks.
    A zero-argument function (the `get_settings()` idiom) holds a single entry and is not reported,
    nor is a function whose every argument is a `bool`, a class (`type[...]`, `cls`), a `Callable`
    or a `Literal[...]`: its keys are bounded by the code base. The project's calls count too: a
    function that only module-level code calls (compiling a route table once), or whose every
    caller passes literals and configuration (`settings.jwt_ttl`, a module constant, `sys.stdout`)
    for each argument, holds as many entries as the code base spells out. Only a function that
    runs per request (reached from a route, a dependency or a middleware) is reported, or a public
    one that no linted code calls (a library's API, whose callers are unseen): a cache that only a
    CLI, a job or startup code calls is keyed by what those calls pass, not by traffic (in the
    real-code study, every such finding was harmless). Nor is a warn-once function (it returns
    nothing and only logs, warns or prints): it caches the messages already shown, no values.

    ## Example
    ```python
    @lru_cache(maxsize=None)
    def user_permissions(user_id: int) -> set[str]:
        ...
    ```

    Use instead:
    ```python
    @lru_cache(maxsize=128)
    def user_permissions(user_id: int) -> set[str]:
        ...
    ```

    ## Fix safety
    The fix bounds the cache at 128 entries (`lru_cache(maxsize=128)`, importing `lru_cache` from
    `functools` when needed). It is **unsafe**: entries are now evicted, so the function runs again
    for evicted arguments; code that relies on getting the *same object* back for an argument (a
    per-key singleton) behaves differently. An unused `cache` import may be left behind.

    ## Known problems
    A public function of a library is judged by the calls the linted code makes; callers outside
    it may pass anything. A module-level object whose attributes change per request is taken for
    configuration, except the known request proxies (`flask.request`, `flask.g`, ...).
    """

    code = "LL202"
    name = "unbounded-function-cache"
    message = "`{decorator}` on `{func}` keeps one entry per distinct argument forever: bound it with `lru_cache(maxsize=...)`"
    fix_title = "Bound the cache with `lru_cache(maxsize=128)`"
    fix_availability = FixAvailability.SOMETIMES

    valid = VALID + configuration.VALID
    invalid = INVALID + configuration.INVALID

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not node.decorators:
            return
        for found in state.cache_decorators(self.ctx, node):
            if not found.unbounded:
                continue
            cls = self.ctx.enclosing_class(node)
            is_static = state.decorated_with(self.ctx, node, frozenset({"builtins.staticmethod"}))
            is_class = state.decorated_with(self.ctx, node, frozenset({"builtins.classmethod"}))
            if cls is not None and not is_static and not is_class:
                return  # instance method: LL203
            skip_first = cls is not None and is_class
            if not runs_with_unknown_callers(self.ctx, node):
                return  # only a CLI, a job or startup calls it (or nothing does): not traffic's keys
            if not state.takes_arguments(node, skip_first) or state.only_reports(node) or state.bounded_by_callers(
                    self.ctx, node, self.ctx.parent(node), skip_first):
                return
            label = "cache" if found.kind == "cache" else (
                "lru_cache(maxsize=None)" if found.maxsize_arg is None or found.maxsize_arg.keyword is not None
                else "lru_cache(None)")
            self.report(found.decorator.decorator, decorator=label, func=node.name.value, fix=self._fix(node, found))

    def _fix(self, fn: cst.FunctionDef, found: state.CacheDecorator) -> Optional[Fix]:
        bounded = cst.Arg(keyword=cst.Name("maxsize"), value=cst.Integer("128"),
                          equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                                whitespace_after=cst.SimpleWhitespace("")))
        title = self.fix_title or ""
        if found.maxsize_arg is not None:
            arg = found.maxsize_arg
            return Fix(title, Applicability.UNSAFE, {arg: bounded.with_changes(comma=arg.comma)})
        expr = found.decorator.decorator
        if isinstance(expr, cst.Call):
            if expr.args:
                return None
            expr = expr.func
        if isinstance(expr, cst.Attribute):  # functools.cache / ft.cache -> same module's lru_cache
            func = expr.with_changes(attr=cst.Name("lru_cache"))
            return Fix(title, Applicability.UNSAFE,
                       {found.decorator: found.decorator.with_changes(decorator=cst.Call(func=func, args=[bounded]))})
        current = self.ctx.qualify(cst.Name("lru_cache"), self.ctx.parent(fn))
        imports: Tuple[ImportSpec, ...] = ()
        if not current:
            if "lru_cache" in self.ctx.summary.definitions:
                return None
            imports = (ImportSpec("functools", "lru_cache"),)
        elif not matches(current, state.LRU_CACHE):
            return None
        call = cst.Call(func=cst.Name("lru_cache"), args=[bounded])
        return Fix(title, Applicability.UNSAFE, {found.decorator: found.decorator.with_changes(decorator=call)},
                   imports=imports)
