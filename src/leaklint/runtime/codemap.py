"""Where an endpoint's code lives: handler, dependencies and the functions it calls.

The join with static findings needs file + line spans. We take them from the
live objects (``inspect``/``__code__``) while the app is loaded, so a report can
be rendered later without importing the app again.
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import textwrap
from typing import Any, Callable, Iterator

_MAX_CALL_DEPTH = 2


def _unwrap(obj: Any) -> Any:
    """Find the Python function behind a dependency: partials, classes, callable instances."""
    for _ in range(10):
        if isinstance(obj, functools.partial):
            obj = obj.func
            continue
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
            continue
        break
    try:
        obj = inspect.unwrap(obj)
    except ValueError:
        pass
    if inspect.isclass(obj):
        init = obj.__dict__.get("__init__") or obj.__dict__.get("__call__")
        return init if init is not None and hasattr(init, "__code__") else None
    if inspect.ismethod(obj):
        obj = obj.__func__
    if not hasattr(obj, "__code__") and callable(obj):
        call = getattr(type(obj), "__call__", None)
        obj = call if hasattr(call, "__code__") else None
    return obj if hasattr(obj, "__code__") else None


def span(func: Any) -> dict[str, Any] | None:
    """{'file','start','end','name'} for a function, decorators included."""
    fn = _unwrap(func)
    if fn is None:
        return None
    code = fn.__code__
    filename = code.co_filename
    if not filename or filename.startswith("<"):
        return None
    try:
        lines, start = inspect.getsourcelines(fn)
    except (OSError, TypeError):
        return None
    return {
        "name": getattr(fn, "__qualname__", getattr(fn, "__name__", "?")),
        "file": os.path.abspath(filename),
        "start": start,
        "end": start + len(lines) - 1,
    }


def _iter_dependencies(dependant: Any, seen: set[int]) -> Iterator[Any]:
    for sub in getattr(dependant, "dependencies", None) or []:
        call = getattr(sub, "call", None)
        if call is not None and id(call) not in seen:
            seen.add(id(call))
            yield call
        yield from _iter_dependencies(sub, seen)


def _called_functions(func: Any) -> Iterator[Any]:
    """Functions named in ``func``'s body that resolve in its module globals.

    Good enough for same-module helpers and ``module.func`` calls; dynamic
    dispatch is out of reach of a static read and is simply not followed.
    """
    fn = _unwrap(func)
    if fn is None:
        return
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return
    env = dict(getattr(fn, "__globals__", {}))
    closure = getattr(fn, "__closure__", None) or ()
    for name, cell in zip(fn.__code__.co_freevars, closure):
        try:
            env[name] = cell.cell_contents
        except ValueError:
            pass
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _resolve(node.func, env)
        if target is not None:
            yield target


def _resolve(expr: ast.expr, env: dict[str, Any]) -> Any:
    if isinstance(expr, ast.Name):
        return env.get(expr.id)
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, env)
        if base is not None and (inspect.ismodule(base) or inspect.isclass(base)):
            return getattr(base, expr.attr, None)
    return None


def _is_library(path: str) -> bool:
    return "site-packages" in path or "dist-packages" in path or path.startswith(os.path.dirname(os.__file__))


def code_map(endpoint: Callable[..., Any] | None, dependant: Any = None) -> list[dict[str, Any]]:
    """Spans for the handler, its dependencies (recursively) and what they call.

    Each entry: {'role': handler|dependency|calls, 'name', 'file', 'start', 'end', 'via'}.
    Library code (site-packages, stdlib) is left out: there is nothing to fix there.
    """
    out: list[dict[str, Any]] = []
    seen_spans: set[tuple[str, int]] = set()

    def add(obj: Any, role: str, via: str | None) -> dict[str, Any] | None:
        sp = span(obj)
        if sp is None or _is_library(sp["file"]):
            return None
        key = (sp["file"], sp["start"])
        if key in seen_spans:
            return None
        seen_spans.add(key)
        entry = dict(sp, role=role, via=via)
        out.append(entry)
        return entry

    roots: list[tuple[Any, str]] = []
    if endpoint is not None and add(endpoint, "handler", None):
        roots.append((endpoint, out[-1]["name"]))
    if dependant is not None:
        for call in _iter_dependencies(dependant, set()):
            entry = add(call, "dependency", None)
            if entry:
                roots.append((call, entry["name"]))
    frontier = roots
    for _ in range(_MAX_CALL_DEPTH):
        nxt = []
        for obj, name in frontier:
            for callee in _called_functions(obj):
                entry = add(callee, "calls", name)
                if entry:
                    nxt.append((callee, entry["name"]))
        frontier = nxt
    return out
