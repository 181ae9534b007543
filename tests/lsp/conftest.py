"""A small FastAPI + SQLAlchemy project on disk for the language-server tests, and the CLI to compare with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest

DB_PY = '''\
"""Database wiring: engine, session factory and the request-scoped session dependency."""

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite:///./demo.db")
SessionLocal = sessionmaker(bind=engine)


def get_db():
    db = SessionLocal()
    yield db
    db.close()
'''

DEPS_PY = '''\
"""Dependencies shared by the routers."""

from app.db import SessionLocal


def get_reporting_session():
    return SessionLocal()
'''

ROUTES_PY = '''\
from fastapi import APIRouter, Depends

from app.deps import get_reporting_session

router = APIRouter()


@router.get("/report")
def report(db=Depends(get_reporting_session)):
    return {"rows": 0}
'''


def write_project(folder: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if not text.startswith('"""') else text)
    return folder


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """``app/`` with a get_db without finally (LL101, safe fix) and a returned-session dependency in
    ``deps.py`` that is a dependency only because ``routes.py`` uses it in ``Depends`` (LL102, unsafe fix)."""
    return write_project(tmp_path, {"app/__init__.py": "", "app/db.py": DB_PY, "app/deps.py": DEPS_PY,
                                    "app/routes.py": ROUTES_PY})


def cli(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leaklint", *args], cwd=str(folder), capture_output=True,
                          text=True, timeout=120, env=dict(os.environ, LEAKLINT_DEBUG=""))


def cli_findings(folder: Path, path: str = ".") -> List[dict]:
    """The CLI's own findings for the project (what the editor must show)."""
    return json.loads(cli(folder, "check", path, "--output-format", "json").stdout)


def cli_fixed(folder: Path, name: str, *flags: str) -> str:
    """``name`` after ``leaklint --fix`` (with ``flags``) on a copy of the project."""
    copy = folder.parent / f"{folder.name}-cli-{'-'.join(f.strip('-') for f in flags) or 'safe'}"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(folder, copy)
    cli(copy, "check", "--fix", *flags, ".")
    return (copy / name).read_text()
