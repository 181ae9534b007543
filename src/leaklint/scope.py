"""Whole-project facts when only some files are named (pre-commit passes the staged files).

Findings are reported for the named files only, but the project facts (a dependency defined in
an unstaged ``deps.py``, the session factory in ``db.py``) come from every file of the project:
the folder of the ``pyproject.toml`` that holds ``[tool.leaklint]``, walked with the usual
excludes. Summaries of the files not named come from the cache when it has them, so a warm
pre-commit run maps only what changed. Without a leaklint configuration there is no known
project root, and the named files are linted on their own, as before.
"""

from __future__ import annotations

import os
from typing import List, Optional, Sequence, Tuple

from leaklint.config import Settings
from leaklint.discovery import discover


def project_files(paths: Sequence[str], files: List[str], settings: Settings, excludes: Sequence[str],
                  respect_gitignore: bool) -> Optional[Tuple[List[str], List[str]]]:
    """``(every file to summarise, the files to report on)``, or None when the paths are the
    project already (only folders named) or there is no project root to take facts from."""
    if settings.source is None or not any(os.path.isfile(p) for p in paths if p != "-"):
        return None
    root = settings.root
    inside = [f for f in files if _under(f, root)]
    if not inside:
        return None
    walk_from = os.path.relpath(root) if _under(root, os.getcwd()) else root
    project = discover([walk_from], root, excludes, respect_gitignore).files
    named = {os.path.realpath(f) for f in files}
    everything = list(files) + [f for f in project if os.path.realpath(f) not in named]
    return everything, list(files)


def _under(path: str, root: str) -> bool:
    path, root = os.path.realpath(path), os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)
