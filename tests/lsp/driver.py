"""An editor in a test: pygls's LSP client driving the real ``leaklint server`` process over stdio."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import pytest

try:
    import pygls.lsp.client as pygls_client
except ImportError:  # pragma: no cover - pygls is in the test extra
    if os.environ.get("CI") == "true":
        raise
    pytest.skip("the language-server tests need pygls: pip install -e '.[test]'", allow_module_level=True)
from lsprotocol import types  # noqa: E402
from pygls.uris import from_fs_path  # noqa: E402

TIMEOUT = 30.0


class Editor:
    def __init__(self, folder: Path, debounce_ms: int = 50) -> None:
        self.folder = folder
        self.debounce_ms = debounce_ms
        self.client = pygls_client.LanguageClient("leaklint-tests", "1")
        self.published: Dict[str, List[types.PublishDiagnosticsParams]] = {}
        self.messages: List[types.ShowMessageParams] = []
        self.registrations: List[types.RegistrationParams] = []
        self.versions: Dict[str, int] = {}
        self.texts: Dict[str, str] = {}
        self.changed = asyncio.Event()

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def _published(params: types.PublishDiagnosticsParams) -> None:
            self.published.setdefault(params.uri, []).append(params)
            self.changed.set()

        @self.client.feature(types.WINDOW_SHOW_MESSAGE)
        def _message(params: types.ShowMessageParams) -> None:
            self.messages.append(params)
            self.changed.set()

        self.logs: List[str] = []

        @self.client.feature(types.WINDOW_LOG_MESSAGE)
        def _log(params: types.LogMessageParams) -> None:
            self.logs.append(params.message)
            self.changed.set()

        @self.client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def _register(params: types.RegistrationParams) -> None:
            self.registrations.append(params)

    async def start(self) -> "Editor":
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        await self.client.start_io(sys.executable, "-m", "leaklint", "server", cwd=str(self.folder), env=env)
        asyncio.ensure_future(self._drain_stderr())
        root = from_fs_path(str(self.folder))
        await self.client.initialize_async(types.InitializeParams(
            process_id=os.getpid(), root_uri=root,
            workspace_folders=[types.WorkspaceFolder(uri=root, name="workspace")],
            capabilities=types.ClientCapabilities(workspace=types.WorkspaceClientCapabilities(
                did_change_watched_files=types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=True))),
            initialization_options={"debounce": self.debounce_ms}))
        self.client.initialized(types.InitializedParams())
        return self

    async def _drain_stderr(self) -> None:
        server = self.client._server
        while server is not None and server.stderr is not None:
            line = await server.stderr.readline()
            if not line:
                return
            sys.stderr.write(line.decode(errors="replace"))

    async def stop(self) -> None:
        await asyncio.wait_for(self.client.shutdown_async(None), TIMEOUT)
        self.client.exit(None)
        await asyncio.wait_for(self.client.stop(), TIMEOUT)

    @property
    def alive(self) -> bool:
        server = self.client._server
        return server is not None and server.returncode is None

    # -- documents ----------------------------------------------------------------------------------

    def uri(self, name: str) -> str:
        return from_fs_path(str(self.folder / name))

    def open(self, name: str, text: Optional[str] = None) -> str:
        uri = self.uri(name)
        text = (self.folder / name).read_text() if text is None else text
        self.versions[uri], self.texts[uri] = 1, text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
        return uri

    def change(self, uri: str, text: str) -> None:
        self.versions[uri] += 1
        self.texts[uri] = text
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))

    def save(self, uri: str) -> None:
        self.client.text_document_did_save(types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def files_changed(self, *changes: "tuple[str, types.FileChangeType]") -> None:
        self.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=self.uri(name), type=kind) for name, kind in changes]))

    async def diagnostics(self, uri: str, until: Callable[[Sequence[types.Diagnostic]], bool] = lambda ds: True,
                          timeout: float = TIMEOUT) -> Sequence[types.Diagnostic]:
        """The latest diagnostics published for the current version of ``uri`` that satisfy ``until``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for params in reversed(self.published.get(uri, [])):
                if params.version in (None, self.versions.get(uri)):
                    if until(params.diagnostics):
                        return params.diagnostics
                    break
            left = deadline - loop.time()
            if left <= 0:
                latest = self.published.get(uri, [])
                raise AssertionError(f"no matching diagnostics for {uri}; last: "
                                     f"{[(d.code, d.message) for d in latest[-1].diagnostics] if latest else None}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def message(self, until: Callable[[types.ShowMessageParams], bool], timeout: float = TIMEOUT):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [m for m in self.messages if until(m)]
            if found:
                return found[-1]
            if loop.time() > deadline:
                raise AssertionError(f"no matching window message; got {[m.message for m in self.messages]}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - loop.time()))
            except asyncio.TimeoutError:
                pass

    async def code_actions(self, uri: str, diagnostic: Optional[types.Diagnostic] = None,
                           only: Optional[List[str]] = None) -> List[types.CodeAction]:
        rng = diagnostic.range if diagnostic is not None else types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
        result = await asyncio.wait_for(self.client.text_document_code_action_async(types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
            context=types.CodeActionContext(diagnostics=[diagnostic] if diagnostic else [], only=only))), TIMEOUT)
        return [a for a in result or [] if isinstance(a, types.CodeAction)]

    async def hover(self, uri: str, line: int, character: int) -> Optional[types.Hover]:
        return await asyncio.wait_for(self.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=character))), TIMEOUT)


def apply_edits(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP edits (ASCII test sources: characters are code points) as an editor does."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        return starts[position.line] + position.character

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]
    return text


def workspace_edit(action: types.CodeAction, uri: str) -> List[types.TextEdit]:
    assert action.edit is not None and action.edit.changes is not None
    return list(action.edit.changes[uri])


def run(scenario, folder: Path) -> None:
    """Run ``scenario(editor)`` against a fresh server for ``folder``; the server is shut down after."""
    async def main() -> None:
        editor = await Editor(folder).start()
        try:
            await scenario(editor)
        finally:
            if editor.alive:
                await editor.stop()

    asyncio.run(main())
