"""Count SQLAlchemy pool checkouts that requests never return.

A session that is never closed keeps its connection checked out until the
garbage collector finalises it (SQLAlchemy then warns "The garbage collector is
trying to clean up non-checked-in connection"). Meanwhile the database holds a
server connection, often "idle in transaction". So a checkin that happens
*during* a garbage collection is not a return: it is the leak, cleaned up late.

The tracker listens on the ``Pool`` class, which covers every engine the app
creates, before or after the probe starts. ``outstanding`` is checkouts minus
the checkins made outside the collector: it grows by one per leaked connection.
"""

from __future__ import annotations

import gc
import threading
from typing import Any, Optional

DEFAULT_POOL_TIMEOUT = 5.0


class PoolTracker:
    """Pool events on every engine; ``start()`` / ``stop()`` add and remove the listeners."""

    def __init__(self, pool_timeout: Optional[float] = DEFAULT_POOL_TIMEOUT) -> None:
        self.available = False
        self.checkouts = 0
        self.returned = 0
        self.collected = 0  # checked in by the garbage collector
        self._in_gc = 0
        self._lock = threading.Lock()
        self._pool_timeout = pool_timeout
        self._timeouts: dict[int, tuple[Any, Any]] = {}
        self._pool_class: Any = None

    @property
    def outstanding(self) -> Optional[int]:
        """Connections checked out and not given back by the app; None without SQLAlchemy."""
        if not self.available:
            return None
        return self.checkouts - self.returned

    def start(self) -> "PoolTracker":
        try:
            from sqlalchemy import event
            from sqlalchemy.pool import Pool
        except ImportError:
            return self
        self._pool_class = Pool
        event.listen(Pool, "checkout", self._on_checkout)
        event.listen(Pool, "checkin", self._on_checkin)
        gc.callbacks.append(self._on_gc)
        self.available = True
        return self

    def stop(self) -> None:
        if not self.available:
            return
        from sqlalchemy import event

        for name, fn in (("checkout", self._on_checkout), ("checkin", self._on_checkin)):
            if event.contains(self._pool_class, name, fn):
                event.remove(self._pool_class, name, fn)
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)
        for pool, original in self._timeouts.values():
            pool._timeout = original
        self._timeouts.clear()
        self.available = False

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        self._in_gc += 1 if phase == "start" else -1

    def _on_checkout(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        with self._lock:
            self.checkouts += 1
        self._bound_timeout(getattr(proxy, "_pool", None))

    def _on_checkin(self, dbapi_connection: Any, record: Any) -> None:
        with self._lock:
            if self._in_gc > 0:
                self.collected += 1
            else:
                self.returned += 1

    def _bound_timeout(self, pool: Any) -> None:
        """An exhausted pool makes the next checkout wait (30 s by default): keep that short.

        The probe then ends the endpoint with a clear message instead of hanging.
        The pool's own timeout is restored by ``stop()``.
        """
        if pool is None or self._pool_timeout is None or id(pool) in self._timeouts:
            return
        original = getattr(pool, "_timeout", None)
        if isinstance(original, (int, float)) and original > self._pool_timeout:
            self._timeouts[id(pool)] = (pool, original)
            pool._timeout = self._pool_timeout


def is_pool_exhausted(error: Optional[str]) -> bool:
    """The error text of SQLAlchemy's QueuePool timeout, as the driver records it."""
    return bool(error) and "TimeoutError" in error and "limit of size" in error  # type: ignore[operator]
