"""Workspace facts: every module of a project on disk summarised once, then kept up to date per file.

A project is the folder of a ``pyproject.toml`` with ``[tool.leaklint]`` (or the workspace folder),
as the CLI sees it when run there. Loading it is the CLI's map phase (in worker processes on a large
tree) and a reduce; afterwards a changed, opened or saved file is summarised alone and the project
facts are updated incrementally (``reduce.IncrementalProject``): nothing else is read from disk.
An open buffer's text stands in for the file on disk until it is closed.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Dict, List, Optional, Sequence, Tuple

from leaklint.discovery import discover
from leaklint.engine import SourceError, read_source
from leaklint.runner import default_jobs, resource_table, summarise_path
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary, module_name_for, summarise

from leaklint.lsp.linting import Resolved
from leaklint.lsp.reduce import IncrementalProject

SERIAL_BELOW = 16


def _summarise_chunk(paths: Sequence[str], roots: Sequence[str]) -> List[Tuple[str, Optional[ModuleSummary]]]:
    return [(p, s) for p, s, _ in (summarise_path(p, roots=roots) for p in paths)]


def summarise_all(paths: Sequence[str], roots: Sequence[str], jobs: int) -> Dict[str, ModuleSummary]:
    """The map phase over ``paths``; files that cannot be read are left out (the CLI reports them)."""
    if jobs <= 1 or len(paths) < SERIAL_BELOW:
        mapped = _summarise_chunk(paths, roots)
    else:
        size = max(1, min(64, len(paths) // (jobs * 8) or 1))
        chunks = [list(paths[i:i + size]) for i in range(0, len(paths), size)]
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            mapped = [r for chunk in pool.map(_summarise_chunk, chunks, [roots] * len(chunks)) for r in chunk]
    return {path: summary for path, summary in mapped if summary is not None}


class ProjectState:
    """One project root: its settings, every module's summary and the project facts."""

    def __init__(self, resolved: Resolved) -> None:
        self.resolved = resolved
        self.root = os.path.abspath(resolved.root)
        self.facts: Optional[IncrementalProject] = None  # None until ``load`` ran
        self.overlays: Dict[str, ModuleSummary] = {}  # open buffers, by path

    @property
    def ready(self) -> bool:
        return self.facts is not None

    def files(self) -> List[str]:
        settings = self.resolved.settings
        found = discover([self.root], settings.root, settings.all_excludes, settings.respect_gitignore)
        return [os.path.abspath(p) for p in found.files]

    def load(self, jobs: int = 0) -> IncrementalProject:
        """Summarise every module on disk and reduce (run off the server's event loop)."""
        files = self.files()
        summaries = summarise_all(files, (self.root,), jobs or default_jobs())
        return IncrementalProject(summaries, resource_table(self.resolved.settings))

    def install(self, facts: IncrementalProject) -> None:
        """Take a loaded project; the open buffers' summaries replace what was read from disk."""
        self.facts = facts
        for path, summary in self.overlays.items():
            self._replace(path, summary)

    def summarise(self, path: str, data: bytes) -> ModuleSummary:
        module, package = module_name_for(path, (self.root,))
        return summarise(data, path, module, package)

    def contains(self, path: str) -> bool:
        return path.startswith(self.root.rstrip(os.sep) + os.sep)

    def update_buffer(self, path: str, summary: ModuleSummary) -> None:
        self.overlays[path] = summary
        self._replace(path, summary)

    def close_buffer(self, path: str) -> None:
        """The buffer closed: the file on disk is the module again."""
        self.overlays.pop(path, None)
        self.reread(path)

    def reread(self, path: str) -> None:
        """A file changed, appeared or went away on disk (a checkout, another tool)."""
        if path in self.overlays or not self.ready:
            return
        if not os.path.exists(path):
            self.facts.replace(path, None)
            return
        try:
            data = read_source(path)
        except SourceError:
            self.facts.replace(path, None)
            return
        self._replace(path, self.summarise(path, data))

    def _replace(self, path: str, summary: ModuleSummary) -> None:
        if self.facts is None:
            return
        previous = self.facts.summaries.get(path)
        if summary.syntax_error is not None and previous is not None and previous.syntax_error is None:
            return  # half-typed code: the other modules keep seeing its last good version
        self.facts.replace(path, summary)

    def project_for(self, summary: ModuleSummary) -> ProjectFacts:
        """The facts to lint ``summary``'s file with: the workspace's, or its own until the workspace loaded."""
        if self.facts is not None:
            return self.facts.project
        return ProjectFacts.build([summary], resource_table(self.resolved.settings))
