"""Lint one editor buffer with the CLI's own code: ``runner.check_one`` under the settings the CLI
would use for that file, against the workspace's project facts.

The findings are the CLI's (same messages, same ``# noqa`` and per-file-ignores handling); each
fixable one carries the edits of its own fix, computed by the engine (``want_edits``). Fix-all is the
engine's fix loop with safe fixes only, as ``leaklint --fix`` runs it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from leaklint.checking import CheckRequest, enabled_codes
from leaklint.config import ConfigError, Settings, find_config, load
from leaklint.diagnostics import Diagnostic
from leaklint.engine import FixOptions, decode
from leaklint.runner import Job, check_one
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary


@dataclass
class Resolved:
    """The settings for one file and the folder its project facts come from."""

    settings: Settings
    codes: Tuple[str, ...]
    root: str
    #: one line when the config file is broken (the last good settings, or the defaults, stay in force)
    error: Optional[str] = None


@dataclass
class ConfigResolver:
    """``find_config`` + ``load`` as the CLI does for a path, cached per folder until a config changes."""

    folders: List[str] = field(default_factory=list)
    _by_dir: Dict[str, Resolved] = field(default_factory=dict)
    _last_good: Dict[str, Resolved] = field(default_factory=dict)

    def folder_of(self, path: str) -> str:
        path = os.path.abspath(path)
        inside = [f for f in self.folders if path == f or path.startswith(f.rstrip(os.sep) + os.sep)]
        return max(inside, key=len) if inside else os.path.dirname(path)

    def resolve(self, path: str) -> Resolved:
        directory = os.path.dirname(os.path.abspath(path))
        cached = self._by_dir.get(directory)
        if cached is None:
            cached = self._by_dir[directory] = self._load(path)
        return cached

    def _load(self, path: str) -> Resolved:
        config = find_config(path)
        key = config or self.folder_of(path)
        try:
            settings = load(config)
        except ConfigError as exc:
            previous = self._last_good.get(key)
            fallback = previous.settings if previous is not None else Settings(root=self.folder_of(path))
            return Resolved(fallback, codes_of(fallback), previous.root if previous else self.folder_of(path),
                            str(exc))
        if settings.source is None:
            settings.root = self.folder_of(path)
        resolved = Resolved(settings, codes_of(settings), settings.root)
        self._last_good[key] = resolved
        return resolved

    def forget(self) -> None:
        """A ``pyproject.toml`` changed: resolve every file again on its next lint."""
        self._by_dir.clear()


def codes_of(settings: Settings) -> Tuple[str, ...]:
    """The enabled codes exactly as ``leaklint check`` computes them from the settings alone."""
    request = CheckRequest(paths=[], settings=settings, select=list(settings.select),
                           extend_select=list(settings.extend_select), ignore=list(settings.ignore),
                           preview=settings.preview)
    return tuple(enabled_codes(request))


def _job(resolved: Resolved, options: FixOptions) -> Job:
    settings = resolved.settings
    return Job(resolved.codes, tuple((g, tuple(c)) for g, c in settings.per_file_ignores.items()),
               settings.root, options, write=False)


@dataclass
class Linted:
    diagnostics: List[Diagnostic]
    #: one line when leaklint itself failed on the file (a bug), for the server's log
    error: Optional[str] = None


def lint(path: str, data: bytes, summary: ModuleSummary, project: ProjectFacts, resolved: Resolved) -> Linted:
    result = check_one(path, summary, project, _job(resolved, FixOptions(want_edits=True)), source=data)
    return Linted(result.diagnostics, result.error)


def fix_all(path: str, data: bytes, summary: ModuleSummary, project: ProjectFacts,
            resolved: Resolved) -> Optional[str]:
    """The buffer after ``leaklint --fix`` (safe fixes only), or None when nothing changes."""
    result = check_one(path, summary, project, _job(resolved, FixOptions(fix=True, unsafe=False)), source=data)
    if result.fixed is None:
        return None
    return decode(result.fixed)
