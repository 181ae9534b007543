"""Process resource counters shared by `probe`, `watch` and the metrics exporter.

Leaks that take services down are often not bytes: tasks, descriptors, threads
and pool checkouts. Each counter is cheap, needs no optional dependency on Linux
and returns None where the platform cannot tell, so callers can leave it out.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from typing import Optional

from .sampler import rss_reader

_read_rss = None


def rss_bytes() -> Optional[int]:
    """Resident set size now (from /proc/self/statm, or psutil elsewhere)."""
    global _read_rss
    try:
        if _read_rss is None:
            _read_rss = rss_reader()
        return _read_rss()
    except (ImportError, OSError):
        return None


def open_fds() -> Optional[int]:
    """Open file descriptors of this process; None where it cannot be counted."""
    for fd_dir in ("/proc/self/fd", "/dev/fd"):
        try:
            # listing the directory opens one descriptor of its own
            return max(0, len(os.listdir(fd_dir)) - 1)
        except OSError:
            continue
    try:
        import psutil  # noqa: PLC0415 - optional dependency

        return int(psutil.Process().num_fds())
    except (ImportError, AttributeError, OSError):
        return None


def live_tasks(loop: Optional[asyncio.AbstractEventLoop] = None) -> int:
    """Unfinished asyncio tasks of `loop` (default: the running loop; 0 without one)."""
    try:
        tasks = asyncio.all_tasks(loop) if loop is not None else asyncio.all_tasks()
    except RuntimeError:
        return 0
    return sum(1 for task in tasks if not task.done())


def thread_count() -> int:
    """Live Python threads."""
    return threading.active_count()


def gc_objects() -> int:
    """Objects the garbage collector tracks: a rough count of live containers.

    ``gc.get_objects()`` holds a reference to every tracked object, including a
    tuple that another thread is still building; if that thread runs while the
    list is alive, its tuple resize fails with SystemError ("bad argument to
    internal function"). The list must be made and dropped within C calls, with
    no bytecode between them at which the interpreter could switch threads:
    map(len, iter(...)) does that.
    """
    return next(map(len, iter(gc.get_objects, None)))


def pending_tasks_anywhere() -> int:
    """Unfinished asyncio tasks on any event loop, running or not (a scan of the collector's objects).

    For code that makes and drops its own loops (a sync test calling ``asyncio.run``),
    where no one loop can be asked. Costs a full object walk: use it at checkpoints only.
    """
    return sum(1 for obj in gc.get_objects() if isinstance(obj, asyncio.Task) and not obj.done())
