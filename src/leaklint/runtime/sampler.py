"""What the watcher's background thread measures: RSS, GC and tracemalloc sites.

Everything here runs off the request path. psutil (the ``runtime`` extra) is
imported lazily so that ``import leaklint`` works without it; on Linux we can
fall back to /proc when it is missing.
"""

from __future__ import annotations

import gc
import os
import threading
import time
import tracemalloc
from typing import Any, Callable

LEVELS = ("basic", "allocations", "traces")
# tracemalloc's cost grows with the frames it stores: 1 frame is enough for a
# file:line, the traces level keeps a few more to show who called the allocation.
_TRACE_FRAMES = {"basic": 0, "allocations": 1, "traces": 6}
_HERE = os.path.dirname(os.path.abspath(__file__))


def rss_reader() -> Callable[[], int]:
    """A cheap current-RSS function for the request path.

    Reading /proc/self/statm with pread is several times cheaper than a psutil
    call and needs no lock; elsewhere we fall back to psutil.
    """
    try:
        fd = os.open("/proc/self/statm", os.O_RDONLY)
        page = os.sysconf("SC_PAGE_SIZE")
        int(os.pread(fd, 128, 0).split()[1])

        def read_statm() -> int:
            return int(os.pread(fd, 128, 0).split()[1]) * page

        return read_statm
    except (OSError, ValueError, AttributeError, IndexError):
        pass
    import psutil  # noqa: PLC0415 - optional dependency, imported lazily

    proc = psutil.Process()
    return lambda: int(proc.memory_info().rss)


def _is_own(filename: str) -> bool:
    """tracemalloc's and the watcher's own allocations are not the app's."""
    return filename.startswith((tracemalloc.__file__, _HERE, "<frozen importlib", "<unknown>"))


def _key_name(key: Any) -> tuple[str, int]:
    frame = key[-1] if isinstance(key, tuple) else key
    return frame[0], frame[1]


class Sampler:
    """Takes one sample per call; keeps the previous/baseline site tables for growth."""

    def __init__(self, level: str = "basic", top_n: int = 10, trace_frames: int | None = None):
        if level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        self.level = level
        self.top_n = top_n
        self.frames = _TRACE_FRAMES[level] if trace_frames is None or level == "basic" else max(1, trace_frames)
        self.started_tracing = False
        self._prev_sites: dict[Any, tuple[int, int]] | None = None
        self._base_sites: dict[Any, tuple[int, int]] | None = None
        self._last_sites: dict[Any, tuple[int, int]] = {}
        try:
            import psutil  # noqa: PLC0415

            self._proc: Any = psutil.Process()
            self.rss_source = "psutil"
        except ImportError:
            self._proc = None
            self.rss_source = "statm"
            self._fallback = rss_reader()

    def start(self) -> None:
        if self.frames and not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
            self.started_tracing = True

    def stop(self) -> None:
        if self.started_tracing and tracemalloc.is_tracing():
            tracemalloc.stop()
        self.started_tracing = False

    def rss(self) -> int:
        if self._proc is not None:
            return int(self._proc.memory_info().rss)
        return self._fallback()

    def sample(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "rss": self.rss(),
            "gc": {
                "counts": list(gc.get_count()),
                "collections": [s.get("collections", 0) for s in gc.get_stats()],
                "uncollectable": sum(s.get("uncollectable", 0) for s in gc.get_stats()),
                "garbage": len(gc.garbage),
            },
            "threads": threading.active_count(),
        }
        if self.level != "basic" and tracemalloc.is_tracing():
            current, peak = tracemalloc.get_traced_memory()
            rec["traced"] = {"current": current, "peak": peak}
            sites = self._site_table()
            self._last_sites = sites
            if self._base_sites is None:
                self._base_sites = sites
            biggest = sorted(sites.items(), key=lambda kv: -kv[1][0])[: self.top_n]
            rec["top_sites"] = [self._site(key, sc) for key, sc in biggest]
            if self._prev_sites is not None:
                rec["growing_sites"] = self.growth(self._prev_sites, sites)
            self._prev_sites = sites
        return rec

    def growth_since_start(self) -> list[dict[str, Any]]:
        if self._base_sites is None:
            return []
        return self.growth(self._base_sites, self._last_sites)

    def _site_table(self) -> dict[Any, tuple[int, int]]:
        """Group current traces by line (allocations) or by traceback (traces)."""
        # Filtering after grouping: Snapshot.filter_traces runs fnmatch per
        # trace and held the GIL for seconds on a large heap.
        snap = tracemalloc.take_snapshot()
        group = "traceback" if self.level == "traces" else "lineno"
        table: dict[Any, tuple[int, int]] = {}
        for stat in snap.statistics(group):
            if _is_own(stat.traceback[-1].filename):
                continue
            key = tuple((f.filename, f.lineno) for f in stat.traceback)
            table[key] = (stat.size, stat.count)
        del snap
        return table

    def growth(self, before: dict[Any, tuple[int, int]], after: dict[Any, tuple[int, int]]) -> list[dict[str, Any]]:
        diffs = []
        for key, (size, count) in after.items():
            b_size, b_count = before.get(key, (0, 0))
            if size - b_size > 0:
                diffs.append((key, (size, count), (size - b_size, count - b_count)))
        diffs.sort(key=lambda d: -d[2][0])
        return [
            dict(self._site(key, sc), size_diff=d[0], count_diff=d[1]) for key, sc, d in diffs[: self.top_n]
        ]

    def _site(self, key: Any, sc: tuple[int, int]) -> dict[str, Any]:
        file, line = _key_name(key)
        site: dict[str, Any] = {"file": file, "line": line, "size": sc[0], "count": sc[1]}
        if self.level == "traces" and isinstance(key, tuple) and len(key) > 1:
            site["traceback"] = [f"{f}:{ln}" for f, ln in key]
        return site


class SamplerThread(threading.Thread):
    """Calls ``tick`` every ``interval`` seconds until stopped; never raises out."""

    def __init__(self, interval: float, tick: Callable[[], None], on_error: Callable[[BaseException], None]):
        super().__init__(name="leaklint-watch", daemon=True)
        self.interval = max(0.01, float(interval))
        self._tick = tick
        self._on_error = on_error
        self._stop_event = threading.Event()

    def run(self) -> None:
        next_at = time.monotonic()
        while not self._stop_event.is_set():
            try:
                self._tick()
            except Exception as exc:  # the sampler must never take the app down
                self._on_error(exc)
            next_at += self.interval
            self._stop_event.wait(max(0.0, next_at - time.monotonic()))

    def stop(self, timeout: float = 5.0) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)
