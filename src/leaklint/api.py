"""Programmatic entry points (used by ``leaklint report --static`` and by tests)."""

from __future__ import annotations

import os
from typing import List, Optional, Sequence

from leaklint import registry
from leaklint.config import Settings, find_config, load
from leaklint.discovery import discover
from leaklint.engine import FixOptions
from leaklint.reporting.json_format import record
from leaklint.runner import RunResult, default_jobs, run


def check_paths(paths: Sequence[str], select: Optional[Sequence[str]] = None, jobs: int = 1) -> List[dict]:
    """Lint ``paths`` with their project's config; return ruff-style JSON records."""
    paths = list(paths)
    settings = load(find_config(paths[0] if paths else ".")) if paths else Settings(root=os.getcwd())
    codes = registry.select(list(select) if select else settings.select, settings.extend_select, settings.ignore)
    found = discover(paths, settings.root, settings.all_excludes, settings.respect_gitignore)
    roots = [p for p in paths if os.path.isdir(p)]
    result: RunResult = run(found.files, settings, codes, FixOptions(), jobs or default_jobs(), write=False,
                            roots=roots)
    return [record(d) for r in result.results for d in r.diagnostics]
