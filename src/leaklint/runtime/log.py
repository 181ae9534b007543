"""JSON-lines log with bounded size.

The watcher runs in production for days, so its log must never grow without
bound and must stay readable (one complete JSON object per line, flushed) while
the app is still running.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Iterator


class JsonlLog:
    """Append-only JSON-lines file rotated at ``max_bytes`` (``path.1`` .. ``path.N``)."""

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = 10 * 1024 * 1024, backups: int = 3):
        self.path = Path(path)
        self.max_bytes = max(1024, int(max_bytes))
        self.backups = max(0, int(backups))
        # Only the sampler thread and shutdown write; the lock is never taken on the request path.
        self._lock = threading.Lock()
        self._fh: Any = None

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        lines = [json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in records]
        if not lines:
            return
        with self._lock:
            for line in lines:
                fh = self._open()
                if fh.tell() and fh.tell() + len(line) > self.max_bytes:
                    self._rotate()
                    fh = self._open()
                fh.write(line)
            self._fh.flush()

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def _open(self) -> Any:
        if self._fh is None:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a", encoding="utf-8")
        return self._fh

    def _rotate(self) -> None:
        self._fh.close()
        self._fh = None
        if self.backups == 0:
            os.replace(self.path, str(self.path) + ".old")
            os.remove(str(self.path) + ".old")
            return
        for i in range(self.backups - 1, 0, -1):
            src = Path(f"{self.path}.{i}")
            if src.exists():
                os.replace(src, f"{self.path}.{i + 1}")
        os.replace(self.path, f"{self.path}.1")


def log_files(path: str | os.PathLike[str]) -> list[Path]:
    """The log and its rotated backups, oldest first, so a reader sees one timeline."""
    base = Path(path)
    backups = []
    i = 1
    while Path(f"{base}.{i}").exists():
        backups.append(Path(f"{base}.{i}"))
        i += 1
    files = list(reversed(backups))
    if base.exists():
        files.append(base)
    return files


def read_records(path: str | os.PathLike[str], include_rotated: bool = True) -> Iterator[dict[str, Any]]:
    """Yield records; a torn last line (writer mid-flush) is skipped, not fatal."""
    files = log_files(path) if include_rotated else [Path(path)]
    for file in files:
        with open(file, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if isinstance(rec, dict):
                    yield rec
