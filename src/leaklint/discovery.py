"""Which files to lint: walk directories for ``.py``/``.pyi`` with excludes and ``.gitignore``.

Symlinked directories are never followed (no loops, nothing outside the tree); a symlinked file is
linted only when it points inside the root it was found under. Paths named on the command line
are linted even when excluded, unless ``--force-exclude`` (pre-commit passes every staged file).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Iterable, List, Optional, Sequence, Set

from leaklint.deployment_files import is_deployment_file

SUFFIXES = (".py", ".pyi")


@dataclass
class Discovered:
    files: List[str] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)  # one line each: missing paths
    #: Dockerfiles, Procfiles, compose/Kubernetes YAML, shell scripts: where a server command may live (LL602)
    deployment: List[str] = field(default_factory=list)


def _excluded(path: str, root: str, patterns: Sequence[str]) -> bool:
    name = os.path.basename(path.rstrip(os.sep))
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(rel, pattern):
            return True
        if "/" in pattern and (rel.startswith(pattern + "/") or fnmatch.fnmatchcase(rel, pattern + "/*")):
            return True
    return False


def _force_excluded(path: str, root: str, patterns: Sequence[str]) -> bool:
    """``--force-exclude``: the path or any folder above it (up to the root) is excluded.

    ``build/gen.py`` is excluded by ``build`` just as walking would have skipped it.
    """
    current = os.path.abspath(path)
    root = os.path.abspath(root)
    if current == root:
        return False
    while True:
        if _excluded(current, root, patterns):
            return True
        parent = os.path.dirname(current)
        if parent == current or not parent.startswith(root + os.sep):
            return False  # reached the root (never itself excluded), or the path lies outside it
        current = parent


def _walk(top: str, root: str, excludes: Sequence[str], out: List[str],
          deployment: Optional[List[str]] = None) -> None:
    real_top = os.path.realpath(top)
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            path = entry.path
            if _excluded(path, root, excludes):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                elif entry.name.endswith(SUFFIXES) and entry.is_file():
                    if entry.is_symlink():
                        target = os.path.realpath(path)
                        if not (target == real_top or target.startswith(real_top + os.sep)):
                            continue
                    out.append(path)
                elif deployment is not None and is_deployment_file(entry.path) and entry.is_file() \
                        and not entry.is_symlink():
                    deployment.append(path)
            except OSError:
                continue


def _gitignored(paths: List[str]) -> Set[str]:
    """Ask git once for every candidate (exact .gitignore semantics, no parser of our own)."""
    if not paths or shutil.which("git") is None:
        return set()
    ignored: Set[str] = set()
    by_dir: dict = {}
    for p in paths:
        by_dir.setdefault(os.path.dirname(os.path.abspath(p)) or ".", []).append(p)
    try:
        proc = subprocess.run(
            ["git", "check-ignore", "--stdin", "-z"], input="\0".join(os.path.abspath(p) for p in paths) + "\0",
            capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(paths[0])), timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return set()
    if proc.returncode not in (0, 1):
        return set()  # not a git repository, or git failed: lint everything
    ignored.update(p for p in proc.stdout.split("\0") if p)
    return ignored


def discover(paths: Iterable[str], root: str, excludes: Sequence[str], respect_gitignore: bool = True,
             force_exclude: bool = False) -> Discovered:
    found = Discovered()
    walked: List[str] = []
    explicit: List[str] = []
    for given in paths:
        if not os.path.lexists(given):
            found.errors.append(f"{given}: no such file or directory")
            continue
        if os.path.isdir(given):
            if force_exclude and _force_excluded(given, root, excludes) and given not in (".", "./"):
                continue
            found_here: List[str] = []
            deployment_here: List[str] = []
            _walk(given, root, excludes, found_here, deployment_here)
            if respect_gitignore and (found_here or deployment_here):
                # one git call per folder given: git refuses the whole batch if one path lies
                # outside its repository, so folders from two repositories must not be mixed
                ignored = _gitignored(found_here + deployment_here)
                found_here = [p for p in found_here if os.path.abspath(p) not in ignored]
                deployment_here = [p for p in deployment_here if os.path.abspath(p) not in ignored]
            walked.extend(found_here)
            found.deployment.extend(os.path.normpath(p) for p in deployment_here)
        else:
            if force_exclude and _force_excluded(given, root, excludes):
                continue
            if is_deployment_file(given) and not given.endswith(SUFFIXES):
                found.deployment.append(os.path.normpath(given))  # a Dockerfile named on the command line
                continue
            explicit.append(given)
    seen: Set[str] = set()
    # a symlink to a file we already lint is the same file: keep the real path, report it once
    for path in explicit + sorted(walked, key=os.path.islink):
        key = os.path.realpath(path)  # a symlink to a file we already lint is the same file
        if key not in seen:
            seen.add(key)
            found.files.append(os.path.normpath(path))
    found.files.sort()
    found.deployment = sorted(set(found.deployment))
    return found
