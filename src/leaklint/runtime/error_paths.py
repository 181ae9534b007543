"""``--error-paths``: drive an endpoint with its handler failing after its dependencies ran.

Session and ContextVar leaks (LL101, LL103, LL301) mostly happen when a request
*fails*: a yield-dependency without ``finally`` never reaches its ``close()``,
a middleware skips its ``reset()``. A probe of successful requests never runs
those paths. Here the route's handler runs as usual (with its dependencies
resolved and its own work done) and then raises ``InjectedFailure``, so the
dependency teardown, the middleware and the exception handlers all take their
exception paths. The route is restored when the block ends.
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator


class InjectedFailure(RuntimeError):
    """Raised by the probe in place of the handler's return value (``--error-paths``)."""


class CannotInject(Exception):
    """The route is not one whose handler the probe knows how to make fail."""


_MESSAGE = "leaklint probe: injected failure after the handler ran (--error-paths)"


def _is_async(fn: Any) -> bool:
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(type(fn), "__call__", None) if not inspect.isroutine(fn) else None
    return call is not None and inspect.iscoroutinefunction(call)


def _failing_call(original: Callable[..., Any]) -> Callable[..., Any]:
    """Same signature and sync/async kind as the handler (FastAPI decided how to call it at startup)."""
    if _is_async(original):

        @functools.wraps(original)
        async def failing_async(*args: Any, **kwargs: Any) -> Any:
            await original(*args, **kwargs)
            raise InjectedFailure(_MESSAGE)

        return failing_async

    @functools.wraps(original)
    def failing_sync(*args: Any, **kwargs: Any) -> Any:
        original(*args, **kwargs)
        raise InjectedFailure(_MESSAGE)

    return failing_sync


def _failing_asgi(original: Callable[..., Any]) -> Callable[..., Any]:
    """A plain Starlette route: run it with its response swallowed, then fail."""

    async def failing_app(scope: Any, receive: Any, send: Any) -> None:
        async def swallow(message: Any) -> None:
            return None

        await original(scope, receive, swallow)
        raise InjectedFailure(_MESSAGE)

    return failing_app


@contextmanager
def failing_handler(route: Any) -> Iterator[None]:
    """Within the block, the route's handler raises after it ran; raises ``CannotInject`` if impossible."""
    dependant = getattr(route, "dependant", None)
    if dependant is not None and callable(getattr(dependant, "call", None)):
        original = dependant.call
        dependant.call = _failing_call(original)
        try:
            yield
        finally:
            dependant.call = original
        return
    app = getattr(route, "app", None)
    if route is not None and callable(app) and getattr(route, "endpoint", None) is not None:
        route.app = _failing_asgi(app)
        try:
            yield
        finally:
            route.app = app
        return
    raise CannotInject("the probe can make only Starlette/FastAPI route handlers fail")


def is_injected(error: str | None) -> bool:
    return bool(error) and InjectedFailure.__name__ in error  # type: ignore[operator]


__all__ = ["InjectedFailure", "CannotInject", "failing_handler", "is_injected"]
