"""The content-hash cache in ``.leaklint_cache/`` at the project root (like ruff's ``.ruff_cache``).

Two kinds of entries, one small pickle file each, in a folder per leaklint build:

- ``summaries``: a module's map-phase summary, keyed by the file's content hash, its path (the
  module name comes from it), the leaklint build and the Python version (the summary is built
  with this interpreter's ``ast``);
- ``results``: a file's findings, keyed also by the configuration (enabled codes, fix options)
  and by a digest of the project facts the file depends on (``dependency_keys``).

Every write goes to a temporary file in the entry's folder and is swapped in with
``os.replace``, so two concurrent runs never see half an entry; an entry that does not unpickle
(a crash, a disk error, a different Python) is ignored and rewritten. The build id includes
the size and mtime of leaklint's own source files, so an edited checkout never reads entries
an older code wrote.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import sys
import tempfile
import time
from collections import Counter
from typing import Any, Iterable, Optional

from leaklint import __version__

CACHE_DIR_NAME = ".leaklint_cache"
TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
       "# This file is a cache directory tag created by leaklint.\n"
       "# For information about cache directory tags see https://bford.info/cachedir/\n")
STALE_BUILD_SECONDS = 7 * 24 * 3600  # another build's folder untouched this long is removed
_BUILD: Optional[str] = None


def digest(*parts: Any) -> str:
    """A short, stable hash of strings/bytes (never of ``hash()``, which changes per process)."""
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def content_hash(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def build_id() -> str:
    """leaklint's version, this Python's version and a fingerprint of leaklint's code."""
    global _BUILD
    if _BUILD is None:
        package = os.path.dirname(os.path.abspath(__file__))
        stamps = []
        for directory, dirs, files in os.walk(package):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith(".py"):
                    try:
                        st = os.stat(os.path.join(directory, name))
                    except OSError:
                        continue
                    stamps.append(f"{os.path.relpath(os.path.join(directory, name), package)}:{st.st_size}:"
                                  f"{st.st_mtime_ns}")
        python = "%d.%d.%d-%s" % (sys.version_info[:3] + (sys.implementation.name,))
        _BUILD = f"{__version__}-py{python}-{digest(*stamps)[:12]}"
    return _BUILD


class Cache:
    """One build's folder of the cache; every method swallows I/O errors (a cache is optional)."""

    def __init__(self, directory: str) -> None:
        self.directory = os.path.abspath(directory)
        self.build_dir = os.path.join(self.directory, build_id())
        #: ``(kind, "hit" | "miss")`` -> count, for tests and ``LEAKLINT_CACHE_STATS``
        self.stats: Counter = Counter()

    @classmethod
    def open(cls, directory: str) -> Optional["Cache"]:
        """The cache in ``directory`` (made with its CACHEDIR.TAG and .gitignore); None if it
        cannot be made (read-only checkout): the run goes on uncached."""
        cache = cls(directory)
        try:
            os.makedirs(cache.build_dir, exist_ok=True)
            _write_if_missing(os.path.join(cache.directory, "CACHEDIR.TAG"), TAG)
            _write_if_missing(os.path.join(cache.directory, ".gitignore"),
                              "# Automatically created by leaklint.\n*\n")
            os.utime(cache.build_dir)
        except OSError:
            return None
        cache._remove_stale_builds()
        return cache

    def _path(self, kind: str, key: str) -> str:
        return os.path.join(self.build_dir, kind, key[:2], key)

    def get(self, kind: str, key: str) -> Any:
        """The stored value, or None when missing or unreadable (a corrupt entry is rewritten by
        the next ``put``)."""
        try:
            with open(self._path(kind, key), "rb") as handle:
                value = pickle.load(handle)
        except Exception:  # missing, truncated, corrupt, or from a Python whose pickles we cannot read
            self.stats[(kind, "miss")] += 1
            return None
        self.stats[(kind, "hit")] += 1
        return value

    def put(self, kind: str, key: str, value: Any) -> None:
        path = self._path(kind, key)
        tmp = None
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(value, handle, pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)  # atomic: a concurrent reader sees the old entry or the new one
            tmp = None
        except Exception:
            pass  # a full disk or a value that does not pickle: the run goes on uncached
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _remove_stale_builds(self) -> None:
        """Folders of other leaklint builds not used for a week (an upgrade leaves its old one)."""
        now = time.time()
        try:
            entries = list(os.scandir(self.directory))
        except OSError:
            return
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.path == self.build_dir:
                continue
            try:
                if now - entry.stat(follow_symlinks=False).st_mtime > STALE_BUILD_SECONDS:
                    shutil.rmtree(entry.path, ignore_errors=True)
            except OSError:
                continue


def _write_if_missing(path: str, text: str) -> None:
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)


def summary_key(content: str, path: str, module_identity: Iterable[str]) -> str:
    """``module_identity``: the module and package names the file gets (they depend on the
    ``__init__.py`` files around it, not on its bytes)."""
    return digest("summary", build_id(), content, os.path.abspath(path), *module_identity)


def resolve_dir(setting: Optional[str], root: str) -> str:
    """``cache-dir`` (relative to the project root), else ``.leaklint_cache`` there; the
    ``LEAKLINT_CACHE_DIR`` environment variable overrides both, as ``RUFF_CACHE_DIR`` does."""
    chosen = os.environ.get("LEAKLINT_CACHE_DIR") or setting or CACHE_DIR_NAME
    return chosen if os.path.isabs(chosen) else os.path.join(root, chosen)
