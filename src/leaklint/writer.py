"""Atomic writes: a fixed file is written completely or not at all.

The new bytes go to a temporary file in the same folder (same filesystem), get the original's
permission bits, are flushed to disk, then ``os.replace`` swaps them in. Encoding, BOM and line
endings are whatever libcst's ``Module.bytes`` produced, which preserves the original's.
"""

from __future__ import annotations

import os
import stat
import tempfile


class WriteError(Exception):
    pass


def write_atomic(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise WriteError(f"cannot write fixed file: {exc.strerror}") from None
    target = os.path.realpath(path)  # keep a symlink a symlink: replace what it points to
    directory = os.path.dirname(target)
    fd = -1
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".leaklint-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise WriteError(f"cannot write fixed file: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
