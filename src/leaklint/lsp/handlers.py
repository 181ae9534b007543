"""The LSP methods ``leaklint server`` answers, registered on a ``LeaklintServer``."""

from __future__ import annotations

import asyncio
import os
import sys

from lsprotocol import types
from pygls.uris import to_fs_path

from leaklint.lsp import actions, hover as hover_mod
from leaklint.lsp.server import LeaklintServer

WATCHERS = ["**/pyproject.toml", "**/*.py", "**/*.pyi"]


def create_server() -> LeaklintServer:
    server = LeaklintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: LeaklintServer, params: types.InitializeParams) -> None:
        folders = [to_fs_path(f.uri) for f in params.workspace_folders or []]
        if not folders and params.root_uri:
            folders = [to_fs_path(params.root_uri)]
        ls.resolver.folders = [os.path.abspath(f) for f in folders if f]
        ls.loop = asyncio.get_event_loop()
        options = params.initialization_options or {}
        if isinstance(options, dict):
            if isinstance(options.get("debounce"), (int, float)):
                ls.debounce = max(0.0, float(options["debounce"]) / 1000)
            if isinstance(options.get("jobs"), int):
                ls.jobs = max(1, options["jobs"])

    @server.feature(types.INITIALIZED)
    async def initialized(ls: LeaklintServer, params: types.InitializedParams) -> None:
        watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
        if not (watched and watched.dynamic_registration):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=g) for g in WATCHERS])
        try:
            await ls.client_register_capability_async(types.RegistrationParams(registrations=[types.Registration(
                id="leaklint-watched-files", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=options)]))
        except Exception as exc:  # the client refused: config changes are then seen on the next restart
            ls.log(f"leaklint: could not watch files: {exc}")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LeaklintServer, params: types.DidOpenTextDocumentParams) -> None:
        await ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LeaklintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, ls.debounce)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LeaklintServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        await ls.refresh(uri)
        await ls.relint(lambda path: path != to_fs_path(uri))  # what it defines may change others' findings

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: LeaklintServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        timer = ls.timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        outcome = ls.outcomes.pop(uri, None)
        path = to_fs_path(uri)
        if outcome is not None and path:
            state = ls.projects.get(os.path.abspath(outcome.resolved.root))
            if state is not None:
                await ls.on_worker(state.close_buffer, path)
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched_changed(ls: LeaklintServer, params: types.DidChangeWatchedFilesParams) -> None:
        paths = [to_fs_path(c.uri) for c in params.changes]
        configs = any(p and os.path.basename(p) == "pyproject.toml" for p in paths)
        modules = [os.path.abspath(p) for p in paths if p and p.endswith((".py", ".pyi"))]
        await ls.on_worker(ls.disk_changed, modules, configs)
        if configs:
            ls.shown_errors.clear()  # a config broken again later is said again
        await ls.relint(lambda path: True)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=actions.KINDS))
    async def code_action(ls: LeaklintServer, params: types.CodeActionParams):
        uri = params.text_document.uri
        outcome = await ls.current(uri)
        document = ls.workspace.text_documents.get(uri)
        if outcome is None or document is None:
            return None
        only = [str(getattr(k, "value", k)) for k in params.context.only or []]
        out = []
        if actions.wanted(only, types.CodeActionKind.QuickFix.value):
            out += actions.quick_fixes(uri, document.lines, document.position_codec, outcome.findings,
                                       params.range, outcome.resolved.settings.unsafe_fixes)
        # ``source.fixAll`` (``editor.codeActionsOnSave``) asks every server, ``source.fixAll.leaklint`` this one
        if actions.wanted(only, actions.FIX_ALL) and (only or any(actions.offered(d, False) for d in outcome.findings)):
            action = actions.fix_all_action(uri, outcome.text, await ls.fixed_text(uri, outcome))
            if action is not None:
                out.append(action)
        return out

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: LeaklintServer, params: types.HoverParams):
        uri = params.text_document.uri
        outcome = await ls.current(uri)
        document = ls.workspace.text_documents.get(uri)
        if document is None:
            return None
        findings = outcome.findings if outcome is not None else []
        return hover_mod.hover(document.lines, document.position_codec, findings, params.position)

    return server


def main() -> None:
    server = create_server()
    server.start_io()
    if any(not future.done() for future in server.loading.values()):
        # the editor left while a project was still loading: do not wait for it (the worker
        # processes end when their pipe to this process closes)
        os._exit(0)
    if sys.stdout.closed:  # pygls closed it on exit: the CLI's last flush needs somewhere to go
        sys.stdout = open(os.devnull, "w")
