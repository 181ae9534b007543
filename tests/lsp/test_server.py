"""``leaklint server`` end to end: a real LSP client talks to the real server process over stdio."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.lsp.conftest import cli, cli_findings, cli_fixed, write_project
from tests.lsp.driver import Editor, apply_edits, run, workspace_edit


def by_code(diagnostics, code):
    return [d for d in diagnostics if d.code == code]


def has(code):
    return lambda diagnostics: any(d.code == code for d in diagnostics)


def lacks(code):
    return lambda diagnostics: not any(d.code == code for d in diagnostics)


def test_diagnostics_match_the_cli(project: Path) -> None:
    expected = {(r["code"], r["location"]["row"], r["message"]) for r in cli_findings(project)
                if r["filename"].endswith("db.py")}
    assert expected, "the CLI finds the LL101 of app/db.py"

    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/db.py")
        diagnostics = await editor.diagnostics(uri, has("LL101"))
        assert {(d.code, d.range.start.line + 1, d.message) for d in diagnostics} == expected
        (ll101,) = by_code(diagnostics, "LL101")
        assert ll101.source == "leaklint"
        assert ll101.severity == types.DiagnosticSeverity.Warning
        assert ll101.code_description.href.endswith("ll101_yielded_session_without_finally.py")

    run(scenario, project)


def test_quick_fix_produces_the_fixed_text_and_clears_the_finding(project: Path) -> None:
    expected = cli_fixed(project, "app/db.py")
    assert expected != (project / "app/db.py").read_text()

    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/db.py")
        (ll101,) = by_code(await editor.diagnostics(uri, has("LL101")), "LL101")
        fixes = [a for a in await editor.code_actions(uri, ll101) if a.title.startswith("LL101")]
        assert len(fixes) == 1 and fixes[0].is_preferred and fixes[0].kind == types.CodeActionKind.QuickFix
        fixed = apply_edits(editor.texts[uri], workspace_edit(fixes[0], uri))
        assert fixed == expected
        editor.change(uri, fixed)
        assert lacks("LL101")(await editor.diagnostics(uri, lacks("LL101")))

    run(scenario, project)


def test_noqa_action_silences_the_finding_and_merges_into_an_existing_noqa(project: Path) -> None:
    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/db.py")
        (ll101,) = by_code(await editor.diagnostics(uri, has("LL101")), "LL101")
        (noqa,) = [a for a in await editor.code_actions(uri, ll101) if a.title == "Disable LL101 for this line"]
        row = ll101.range.start.line
        text = apply_edits(editor.texts[uri], workspace_edit(noqa, uri))
        assert text.splitlines()[row] == editor.texts[uri].splitlines()[row] + "  # noqa: LL101"
        editor.change(uri, text)
        await editor.diagnostics(uri, lacks("LL101"))

        merged_source = editor.texts[uri].replace("  # noqa: LL101", "  # noqa: E501 (long line)")
        editor.change(uri, merged_source)
        (ll101,) = by_code(await editor.diagnostics(uri, has("LL101")), "LL101")
        (noqa,) = [a for a in await editor.code_actions(uri, ll101) if a.title == "Disable LL101 for this line"]
        text = apply_edits(merged_source, workspace_edit(noqa, uri))
        assert text.splitlines()[row].endswith("  # noqa: E501, LL101 (long line)")
        editor.change(uri, text)
        await editor.diagnostics(uri, lacks("LL101"))

    run(scenario, project)


def test_fix_all_applies_only_safe_fixes_and_unsafe_ones_are_labelled(tmp_path: Path) -> None:
    """One file with LL101 (safe fix) and LL102 (unsafe fix), unsafe fixes enabled in the config."""
    from tests.lsp.conftest import DB_PY, ROUTES_PY

    both = DB_PY + "\n\ndef get_reporting_session():\n    return SessionLocal()\n"
    project = write_project(tmp_path / "ws", {
        "pyproject.toml": "[tool.leaklint]\nunsafe-fixes = true\n", "app/__init__.py": "", "app/db.py": both,
        "app/routes.py": ROUTES_PY.replace("from app.deps import", "from app.db import")})
    safe_only = cli_fixed(project, "app/db.py", "--no-unsafe-fixes")
    with_unsafe = cli_fixed(project, "app/db.py", "--unsafe-fixes")
    assert safe_only not in (both, with_unsafe)

    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/db.py")
        diagnostics = await editor.diagnostics(uri, lambda ds: has("LL101")(ds) and has("LL102")(ds))
        (ll102,) = by_code(diagnostics, "LL102")
        (unsafe,) = [a for a in await editor.code_actions(uri, ll102) if a.title.startswith("LL102")]
        assert unsafe.title.endswith("(unsafe fix)") and not unsafe.is_preferred
        (fix_all,) = await editor.code_actions(uri, only=["source.fixAll.leaklint"])
        assert fix_all.kind == "source.fixAll.leaklint"
        assert apply_edits(both, workspace_edit(fix_all, uri)) == safe_only
        assert [a.kind for a in await editor.code_actions(uri, only=["source.fixAll"])] == ["source.fixAll.leaklint"]

    run(scenario, project)


def test_hover_shows_the_rule_docs_on_a_finding_and_in_noqa(project: Path) -> None:
    docs = cli(project, "rule", "LL101").stdout
    docs_103 = cli(project, "rule", "LL103").stdout
    source = (project / "app/db.py").read_text() + "\nx = 1  # noqa: LL103\n"

    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/db.py", source)
        (ll101,) = by_code(await editor.diagnostics(uri, has("LL101")), "LL101")
        found = await editor.hover(uri, ll101.range.start.line, ll101.range.start.character + 1)
        assert found is not None and found.contents.value.startswith(docs)
        line = source.splitlines().index("x = 1  # noqa: LL103")
        in_noqa = await editor.hover(uri, line, source.splitlines()[line].index("LL103") + 2)
        assert in_noqa is not None and in_noqa.contents.value.startswith(docs_103)
        assert await editor.hover(uri, 0, 0) is None

    run(scenario, project)


def test_cross_file_finding_from_a_module_on_disk(project: Path) -> None:
    """LL102 in deps.py exists only because routes.py (never opened) uses it in ``Depends``."""
    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/deps.py")
        (ll102,) = by_code(await editor.diagnostics(uri, has("LL102")), "LL102")
        # its fix is unsafe and the config does not enable unsafe fixes: only the noqa action is offered
        assert [a.title for a in await editor.code_actions(uri, ll102)] == ["Disable LL102 for this line"]
        routes = project / "app/routes.py"
        kept = routes.read_text()
        routes.unlink()
        editor.files_changed(("app/routes.py", types.FileChangeType.Deleted))
        await editor.diagnostics(uri, lacks("LL102"))
        routes.write_text(kept)
        editor.files_changed(("app/routes.py", types.FileChangeType.Created))
        await editor.diagnostics(uri, has("LL102"))
        # edited in the editor: the buffer, not the file on disk, is the module once saved
        routes_uri = editor.open("app/routes.py")
        editor.change(routes_uri, kept.replace("db=Depends(get_reporting_session)", "db=None"))
        editor.save(routes_uri)
        await editor.diagnostics(uri, lacks("LL102"))

    run(scenario, project)


def test_broken_pyproject_is_a_window_message_and_the_server_goes_on(project: Path) -> None:
    config = project / "pyproject.toml"
    config.write_text("[tool.leaklint]\nselect = [\"LL1\"]\n")

    async def scenario(editor: Editor) -> None:
        uri = editor.open("app/db.py")
        await editor.diagnostics(uri, has("LL101"))
        watched = [w["globPattern"] for r in editor.registrations for reg in r.registrations
                   for w in reg.register_options["watchers"]]  # options arrive as plain JSON
        assert "**/pyproject.toml" in watched  # the server asked the editor to tell it of config changes
        config.write_text("[tool.leaklint]\nselect = [\"LL1\"\n")  # unclosed list
        editor.files_changed(("pyproject.toml", types.FileChangeType.Changed))
        message = await editor.message(lambda m: "pyproject.toml" in m.message)
        assert message.type == types.MessageType.Error and "invalid TOML" in message.message
        assert editor.alive
        editor.change(uri, editor.texts[uri] + "\n")
        await editor.diagnostics(uri, has("LL101"))  # still linting, with the last good settings
        config.write_text("[tool.leaklint]\nignore = [\"LL101\"]\n")  # repaired, and now ignoring LL101
        editor.files_changed(("pyproject.toml", types.FileChangeType.Changed))
        await editor.diagnostics(uri, lacks("LL101"))

    run(scenario, project)


def test_syntax_error_is_ll001_and_the_server_keeps_serving(project: Path) -> None:
    async def scenario(editor: Editor) -> None:
        broken = editor.open("app/broken.py", "def oops(:\n    pass\n")
        (ll001,) = by_code(await editor.diagnostics(broken, has("LL001")), "LL001")
        assert ll001.severity == types.DiagnosticSeverity.Error and ll001.message.startswith("SyntaxError")
        uri = editor.open("app/db.py")
        await editor.diagnostics(uri, has("LL101"))
        editor.change(broken, "def oops():\n    pass\n")
        assert list(await editor.diagnostics(broken, lacks("LL001"))) == []

    run(scenario, project)
