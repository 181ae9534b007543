"""Which of the app's ContextVars a request leaves set in its caller's context (LL301, measured).

``var.set()`` without ``var.reset(token)`` in code that runs in the caller's
task (a pure ASGI middleware, an async dependency) leaves the value in that
context after the request: on a long-lived task or worker thread it keeps the
last request's object alive and hands it to the next request. The probe's
driver compares the context before and after each request for the
ContextVars defined at module level in the app's own modules (not libraries).
"""

from __future__ import annotations

import contextvars
import os
import sys
from typing import Any

_HERE = os.path.dirname(os.path.abspath(__file__))
_LIB_MARKERS = ("site-packages", "dist-packages", os.path.dirname(os.__file__))


def _is_app_file(filename: str | None) -> bool:
    if not filename or filename.startswith("<") or filename.startswith(os.path.dirname(_HERE)):
        return False
    return not any(marker in filename for marker in _LIB_MARKERS)


def app_context_vars() -> dict[contextvars.ContextVar[Any], str]:
    """Module-level ContextVars of every loaded non-library module, with 'module.name' labels."""
    found: dict[contextvars.ContextVar[Any], str] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not _is_app_file(getattr(module, "__file__", None)):
            continue
        try:
            items = list(vars(module).items())
        except TypeError:
            continue
        for attr, value in items:
            if isinstance(value, contextvars.ContextVar) and value not in found:
                found[value] = f"{module_name}.{attr}"
    return found


class ContextVarWatch:
    """Collects the labels of watched vars that a request set and did not reset."""

    def __init__(self, watched: dict[contextvars.ContextVar[Any], str]) -> None:
        self.watched = watched
        self.left_set: set[str] = set()

    def before(self) -> contextvars.Context:
        return contextvars.copy_context()

    def after(self, before: contextvars.Context) -> None:
        if not self.watched:
            return
        now = contextvars.copy_context()
        for var, label in self.watched.items():
            if var in now and (var not in before or now[var] is not before[var]):
                self.left_set.add(label)

    def names(self) -> list[str]:
        return sorted(self.left_set)
