"""``leaklint server``: the language server (pygls, stdio).

All linting and every change to the workspace facts run on one worker thread, in the order they were
asked for, so the facts need no lock and the event loop keeps answering (hover, code actions) while
a file is linted. Loading a project (the map phase over every module on disk, then the reduce) runs
on a second thread; until it is done a buffer is linted with the facts of its own module, then every
open buffer of that project is linted again.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from leaklint import __version__
from leaklint.diagnostics import Diagnostic
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary

from leaklint.lsp import convert
from leaklint.lsp.linting import ConfigResolver, Resolved, fix_all, lint
from leaklint.lsp.text import encode
from leaklint.lsp.workspace import ProjectState

DEBOUNCE_SECONDS = 0.3


@dataclass
class Outcome:
    """The last lint of one buffer version: what code actions and hover answer from."""

    version: Optional[int]
    text: str
    findings: List[Diagnostic]
    resolved: Resolved
    summary: ModuleSummary
    project: ProjectFacts


class LeaklintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("leaklint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.resolver = ConfigResolver()
        self.projects: Dict[str, ProjectState] = {}
        self.loading: Dict[str, asyncio.Future] = {}
        self.outcomes: Dict[str, Outcome] = {}
        self.timers: Dict[str, asyncio.TimerHandle] = {}
        self.shown_errors: set = set()
        self.debounce = DEBOUNCE_SECONDS
        self.jobs = 0
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set by ``initialize``
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaklint-lint")
        self.loader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="leaklint-load")

    # -- running work ---------------------------------------------------------------------------

    async def on_worker(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.worker, fn, *args)

    def log(self, message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Log, message=message))

    def report_config(self, resolved: Resolved) -> None:
        """A broken config is said once, as a window message; the server goes on with the last good one."""
        if resolved.error and resolved.error not in self.shown_errors:
            self.shown_errors.add(resolved.error)
            self.window_show_message(types.ShowMessageParams(
                type=types.MessageType.Error, message=f"leaklint: {resolved.error}"))

    # -- projects -------------------------------------------------------------------------------

    def state_for(self, resolved: Resolved) -> ProjectState:
        """The project of a resolved file (worker thread); starts loading it the first time."""
        root = os.path.abspath(resolved.root)
        state = self.projects.get(root)
        if state is None:
            state = self.projects[root] = ProjectState(resolved)
        if not state.ready and root not in self.loading:
            self.loading[root] = self.loader.submit(state.load, self.jobs)
            self.loading[root].add_done_callback(lambda future, root=root: self.loop.call_soon_threadsafe(
                lambda: asyncio.ensure_future(self.installed(root, future))))
        return state

    async def installed(self, root: str, future) -> None:
        self.loading.pop(root, None)
        state = self.projects.get(root)
        try:
            facts = future.result()
        except Exception as exc:  # a bug in leaklint: say so, keep linting buffers alone
            self.log(f"leaklint: loading {root} failed: {type(exc).__name__}: {exc}")
            return
        if state is None:
            return
        await self.on_worker(state.install, facts)
        self.log(f"leaklint: {len(facts.summaries)} modules of {root} summarised")
        await self.relint(lambda path: state.contains(path))

    async def relint(self, which) -> None:
        for uri in list(self.outcomes):
            if which(to_fs_path(uri) or ""):
                await self.refresh(uri)

    # -- linting --------------------------------------------------------------------------------

    def lint_buffer(self, path: str, text: str, version: Optional[int]) -> Outcome:
        """Worker thread: summarise the buffer, update the facts, lint it."""
        resolved = self.resolver.resolve(path)
        state = self.state_for(resolved)
        data = encode(text)
        summary = state.summarise(path, data)
        state.update_buffer(path, summary)
        project = state.project_for(summary)
        linted = lint(path, data, summary, project, resolved)
        if linted.error:
            self.loop.call_soon_threadsafe(self.log, f"leaklint: {linted.error}")
        return Outcome(version, text, linted.diagnostics, resolved, summary, project)

    async def refresh(self, uri: str) -> Optional[Outcome]:
        path = to_fs_path(uri)
        document = self.workspace.text_documents.get(uri)
        if path is None or document is None:
            return None
        text, version = document.source, document.version
        outcome = await self.on_worker(self.lint_buffer, path, text, version)
        current = self.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return outcome  # closed or edited meanwhile: a newer refresh publishes
        self.outcomes[uri] = outcome
        self.report_config(outcome.resolved)
        lines = current.lines
        self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=uri, version=version,
            diagnostics=[convert.to_lsp(lines, current.position_codec, d) for d in outcome.findings]))
        return outcome

    def schedule(self, uri: str, delay: float) -> None:
        timer = self.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self.timers[uri] = self.loop.call_later(delay, lambda: asyncio.ensure_future(self._fire(uri)))

    async def _fire(self, uri: str) -> None:
        self.timers.pop(uri, None)
        await self.refresh(uri)

    async def current(self, uri: str) -> Optional[Outcome]:
        """The outcome for the buffer as it is now, linting it first if it changed since."""
        document = self.workspace.text_documents.get(uri)
        outcome = self.outcomes.get(uri)
        if document is None:
            return None
        if outcome is None or outcome.version != document.version:
            outcome = await self.refresh(uri)
        return outcome

    async def fixed_text(self, uri: str, outcome: Outcome) -> Optional[str]:
        path = to_fs_path(uri)

        def run() -> Optional[str]:
            return fix_all(path, encode(outcome.text), outcome.summary, outcome.project, outcome.resolved)

        return await self.on_worker(run)

    # -- files and configuration changed on disk ------------------------------------------------------

    def disk_changed(self, paths: List[str], configs_changed: bool) -> None:
        """Worker thread: re-read changed modules; on a config change, resolve and reload projects."""
        if configs_changed:
            self.resolver.forget()
            for root, state in list(self.projects.items()):
                resolved = self.resolver.resolve(os.path.join(root, "__init__.py"))
                if resolved.error is not None:
                    continue  # broken: keep the facts (and settings) that were in force
                if os.path.abspath(resolved.root) != root or _facts_settings(resolved) != \
                        _facts_settings(state.resolved):
                    del self.projects[root]  # other files or resource kinds: load it again
                else:
                    state.resolved = resolved
        for path in paths:
            for state in self.projects.values():
                if state.contains(path):
                    state.reread(path)


def _facts_settings(resolved: Resolved) -> tuple:
    """What of the settings the project facts depend on (the file set and the resource kinds)."""
    s = resolved.settings
    return (s.root, tuple(s.exclude), tuple(s.extend_exclude), s.respect_gitignore, repr(s.resources))
