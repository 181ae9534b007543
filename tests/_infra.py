"""Shared helpers for the infrastructure tests: tiny projects on disk and the real CLI.

``run_cli`` starts ``python -m leaklint`` in a subprocess (exit codes, stdin, pipes, processes are
the real thing); ``invoke`` runs ``leaklint.cli.main`` in-process (fast, for option checks).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import pytest

DB = textwrap.dedent('''\
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)
    ''')

#: LL101 with a SAFE fix (the close after the yield moves into `finally`): line 10, col 5
LL101_SAFE = DB + textwrap.dedent('''\


    def get_db():
        db = SessionLocal()
        yield db
        db.close()
    ''')
LL101_SAFE_FIXED = DB + textwrap.dedent('''\


    def get_db():
        db = SessionLocal()
        try:
            yield db
        finally:
            db.close()
    ''')

#: LL101 with an UNSAFE fix (no close at all): line 10
LL101_UNSAFE = DB + textwrap.dedent('''\


    def get_db():
        db = SessionLocal()
        yield db
    ''')

#: LL103 without a fix: line 9, col 10
LL103 = DB + textwrap.dedent('''\


    def count():
        db = SessionLocal()
        n = db.query(1).count()
        db.close()
        return n
    ''')

#: one of each: LL101 safe (10:5), LL101 unsafe (16:5), LL103 (20:10)
MIXED = DB + textwrap.dedent('''\


    def get_db():
        db = SessionLocal()
        yield db
        db.close()


    def get_db2():
        db = SessionLocal()
        yield db


    def count():
        db = SessionLocal()
        n = db.query(1).count()
        db.close()
        return n
    ''')

CLEAN = DB + textwrap.dedent('''\


    def get_db():
        with SessionLocal() as db:
            yield db
    ''')

MSG101 = "LL101 [*] Session `db` is yielded without a `finally` that closes it"
MSG101_PLAIN = "LL101 Session `db` is yielded without a `finally` that closes it"
MSG103 = "LL103 Session `db` is closed only on the happy path"


def write(root, files: Dict[str, object]) -> None:
    """``{"pkg/a.py": "code" | b"bytes"}`` under ``root``."""
    for rel, content in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(content, bytes):
            with open(path, "wb") as handle:
                handle.write(content)
        else:
            with open(path, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)


@dataclass
class Result:
    code: int
    out: str
    err: str
    raw: bytes = b""

    @property
    def lines(self):
        return self.out.splitlines()


def run_cli(args: Sequence[str], cwd, stdin: Optional[bytes] = None, env: Optional[dict] = None,
            timeout: float = 60) -> Result:
    """The real command line, in a subprocess."""
    full_env = dict(os.environ)
    full_env.pop("LEAKLINT_DEBUG", None)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "leaklint", *args], cwd=str(cwd), input=stdin,
                          capture_output=True, timeout=timeout, env=full_env)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"),
                  proc.stdout)


def invoke(args: Sequence[str], cwd, monkeypatch: pytest.MonkeyPatch, stdin: bytes = b"") -> Result:
    """``leaklint.cli.main`` in this process (serial runs only: fewer than 8 files or ``--jobs 1``)."""
    from leaklint import cli

    monkeypatch.chdir(str(cwd))
    monkeypatch.delenv("LEAKLINT_DEBUG", raising=False)
    out, err = io.BytesIO(), io.BytesIO()
    text_out = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    text_err = io.TextIOWrapper(err, encoding="utf-8", write_through=True)
    with pytest.MonkeyPatch.context() as streams:  # undone here; the caller's patches stay
        streams.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        streams.setattr(sys, "stdout", text_out)
        streams.setattr(sys, "stderr", text_err)
        try:
            cli.main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        finally:
            text_out.flush()
            text_err.flush()
    return Result(code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"),
                  out.getvalue())


def assert_one_line_error(result: Result, *needles: str) -> None:
    """Exit 2, one line on stderr starting with ``leaklint: error:``, no traceback."""
    assert result.code == 2, result
    lines = [l for l in result.err.splitlines() if l.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("leaklint: error: "), result.err
    assert "Traceback" not in result.err + result.out
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
