"""``watch(app, resources=True)``: process counters for each background sample.

Everything here runs in the watcher's sampling thread, never per request:

- live asyncio tasks are counted *on the served loop's thread* (handed over with
  ``loop.call_soon_threadsafe``), because the loop's task sets change under a
  reader on another thread; a loop too busy to answer within the wait leaves
  that sample's count out (None) rather than stall the sampler;
- open descriptors come from ``counters``; threads are counted without the
  watcher's own;
- SQLAlchemy pool checkouts are read with ``QueuePool.checkedout()``. Pools are
  found through the class-level ``connect`` event, which fires once per new
  DBAPI connection, not per checkout. ``pool_tracker``'s checkout/checkin hook
  is not used: it runs on every checkout and shortens the pools' timeouts,
  which suits a probe but not a production service.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any, Optional

from . import counters

WATCH_RESOURCE_NAMES = ("tasks", "fds", "threads", "pool_checkouts")


def app_threads() -> int:
    """Live threads minus the watcher's own (``leaklint-*``): the final sample runs after its thread stopped."""
    return sum(1 for thread in threading.enumerate() if not thread.name.startswith("leaklint-"))


class PoolRegistry:
    """Weak references to every SQLAlchemy pool that opened a connection while watching."""

    def __init__(self) -> None:
        self.available = False
        self._pools: dict[int, "weakref.ref[Any]"] = {}
        self._lock = threading.Lock()  # taken per new DBAPI connection and per sample only
        self._pool_class: Any = None

    def start(self) -> "PoolRegistry":
        try:
            from sqlalchemy import event  # noqa: PLC0415 - optional dependency
            from sqlalchemy.pool import Pool  # noqa: PLC0415
        except ImportError:
            return self
        self._pool_class = Pool
        event.listen(Pool, "connect", self._on_connect)
        self.available = True
        return self

    def stop(self) -> None:
        if not self.available:
            return
        from sqlalchemy import event  # noqa: PLC0415

        if event.contains(self._pool_class, "connect", self._on_connect):
            event.remove(self._pool_class, "connect", self._on_connect)
        self.available = False

    def add(self, pool: Any) -> None:
        """Watch a pool directly (one that connected before the watcher started)."""
        if pool is None or not callable(getattr(pool, "checkedout", None)):
            return  # NullPool, StaticPool, SingletonThreadPool: no count of checkouts to read
        with self._lock:
            self._pools[id(pool)] = weakref.ref(pool)

    def _on_connect(self, dbapi_connection: Any, record: Any) -> None:
        # ConnectionPoolEntry has no public link to its pool; the record's private slot is read guarded.
        try:
            self.add(getattr(record, "_ConnectionRecord__pool", None))
        except Exception:
            pass

    def checked_out(self) -> Optional[int]:
        """Connections currently checked out of all watched pools; None without SQLAlchemy."""
        if not self.available:
            return None
        with self._lock:
            refs = list(self._pools.items())
        total = 0
        for key, ref in refs:
            pool = ref()
            if pool is None:
                with self._lock:
                    self._pools.pop(key, None)
                continue
            total += int(pool.checkedout())
        return total


class ResourceSampler:
    """Reads the counters of one sample; ``loop`` is the served event loop (None: no task count)."""

    def __init__(self, loop: Optional[asyncio.AbstractEventLoop], wait_seconds: float = 1.0) -> None:
        self.loop = loop
        self.wait_seconds = wait_seconds
        self.pools = PoolRegistry()
        self.unanswered = 0  # samples whose task count the busy loop did not answer in time

    def start(self) -> None:
        self.pools.start()

    def stop(self) -> None:
        self.pools.stop()

    def sample(self) -> dict[str, Optional[int]]:
        values: dict[str, Optional[int]] = {
            "tasks": self.live_tasks(),
            "fds": counters.open_fds(),
            "threads": app_threads(),
            "pool_checkouts": self.pools.checked_out(),
        }
        return {name: value for name, value in values.items() if value is not None}

    def live_tasks(self) -> Optional[int]:
        loop = self.loop
        if loop is None or loop.is_closed():
            return None
        try:
            running: Any = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop or not loop.is_running():
            # on the loop's own thread (the final sample at shutdown), or a loop that runs no code now
            return counters.live_tasks(loop)
        answer: list[int] = []
        answered = threading.Event()

        def count_on_loop() -> None:
            try:
                answer.append(counters.live_tasks(loop))
            finally:
                answered.set()

        try:
            loop.call_soon_threadsafe(count_on_loop)
        except RuntimeError:  # closed meanwhile
            return None
        if not answered.wait(self.wait_seconds) or not answer:
            self.unanswered += 1
            return None
        return answer[0]
