"""The ``check`` and ``rule`` commands through the real command line.

Subprocess runs (``run_cli``) cover what only a real process shows: exit codes, stdin/stdout,
broken pipes, worker processes. ``invoke`` runs ``leaklint.cli.main`` in-process for quick option
checks (same code path, minus the interpreter start).
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from _infra import (CLEAN, DB, LL101_SAFE, LL101_SAFE_FIXED, LL101_UNSAFE, LL103, MIXED, MSG101, MSG101_PLAIN,
                    MSG103, assert_one_line_error, invoke, run_cli, write)

SUMMARY_MIXED = "Found 3 problems (1 fixable with --fix, 1 more with --unsafe-fixes)."


@pytest.fixture
def mixed(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/db.py": MIXED})
    return tmp_path


# -- paths, exit codes, summary --------------------------------------------------------------

def test_default_path_is_cwd_and_output_is_ruff_like(mixed):
    result = run_cli([], mixed)
    assert result.code == 1, result
    assert result.lines == [
        f"app/db.py:10:5: {MSG101}: it leaks when the request fails",
        f"app/db.py:16:5: {MSG101_PLAIN}: it leaks when the request fails",
        f"app/db.py:20:10: {MSG103}; use `with` or close it in `finally`",
        "",
        SUMMARY_MIXED,
    ]
    assert result.err == ""


def test_clean_project_exits_zero(tmp_path, monkeypatch):
    write(tmp_path, {"db.py": CLEAN})
    result = invoke(["."], tmp_path, monkeypatch)
    assert (result.code, result.out, result.err) == (0, "All checks passed!\n", "")


def test_explicit_paths_limit_the_run(tmp_path, monkeypatch):
    write(tmp_path, {"a/one.py": LL103, "b/two.py": LL103, "c/three.py": LL103})
    result = invoke(["--jobs", "1", "a", "c/three.py"], tmp_path, monkeypatch)
    assert [l.split(":")[0] for l in result.lines if "LL103" in l] == ["a/one.py", "c/three.py"]


def test_missing_path_is_one_line_and_the_run_goes_on(mixed):
    result = run_cli(["nope.py", "app"], mixed)
    assert result.err.splitlines() == ["leaklint: error: nope.py: no such file or directory"]
    assert any(l.startswith("app/db.py:10:5: LL101") for l in result.lines)
    assert result.code == 2  # the error decides the exit code, the findings are still reported


def test_missing_path_alone(tmp_path, monkeypatch):
    result = invoke(["nope"], tmp_path, monkeypatch)
    assert_one_line_error(result, "nope: no such file or directory")


def test_bad_option_values_are_one_line_errors(tmp_path, monkeypatch):
    assert_one_line_error(run_cli(["--output-format", "xml", "."], tmp_path), "xml")
    assert_one_line_error(invoke(["--jobs", "0", "."], tmp_path, monkeypatch), "--jobs")
    assert_one_line_error(invoke(["--no-such-option"], tmp_path, monkeypatch), "--no-such-option")


# -- selection -------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expected", [
    (["--select", "LL103"], ["LL103"]),
    (["--select", "ll101"], ["LL101", "LL101"]),
    (["--select", "LL1"], ["LL101", "LL101", "LL103"]),
    (["--select", "LL101,LL103"], ["LL101", "LL101", "LL103"]),
    (["--select", "LL101", "--select", "LL103"], ["LL101", "LL101", "LL103"]),
    (["--select", "ALL", "--ignore", "LL101"], ["LL103"]),
    (["--ignore", "LL1"], []),
    (["--ignore", "LL103,LL101"], []),
    (["--select", "LL103", "--extend-select", "LL101"], ["LL101", "LL101", "LL103"]),
    (["--extend-select", "LL103"], ["LL101", "LL101", "LL103"]),
])
def test_selection(mixed, monkeypatch, args, expected):
    result = invoke(["--jobs", "1", "-q", *args, "."], mixed, monkeypatch)
    assert [l.split()[1] for l in result.lines] == expected
    assert result.code == (1 if expected else 0)


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_selector_is_exit_2(mixed, monkeypatch, option):
    result = invoke([option, "LL1,XY9", "."], mixed, monkeypatch)
    assert_one_line_error(result, option, "XY9")
    assert result.out == ""


def test_unknown_selector_real_process(mixed):
    result = run_cli(["--select", "LL999"], mixed)
    assert_one_line_error(result, "--select", "LL999")


# -- fixes -----------------------------------------------------------------------------------

def test_fix_applies_safe_fixes_only(mixed):
    result = run_cli(["--fix", "."], mixed)
    text = (mixed / "app/db.py").read_text()
    assert "    try:\n        yield db\n    finally:\n        db.close()\n\n\ndef get_db2():\n" \
           "    db = SessionLocal()\n    yield db\n\n" in text  # the unsafe one is left alone
    assert result.code == 1  # findings remain
    assert "Found 3 problems (1 fixed, 2 remaining)." in result.out
    assert "app/db.py:13:" not in result.out


def test_fix_with_unsafe_fixes(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "--fix", "--unsafe-fixes", "."], mixed, monkeypatch)
    text = (mixed / "app/db.py").read_text()
    assert text.count("finally:") == 2
    assert "def get_db2():\n    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()\n" in text
    assert result.code == 1  # LL103 has no fix
    assert [l.split()[1] for l in result.lines if l.startswith("app/")] == ["LL103"]
    assert "(2 fixed, 1 remaining)" in result.out


def test_fix_everything_exits_zero_and_exit_non_zero_on_fix(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL101_SAFE, "b.py": LL101_SAFE})
    result = invoke(["--fix", "a.py"], tmp_path, monkeypatch)
    assert result.code == 0, result
    assert (tmp_path / "a.py").read_text() == LL101_SAFE_FIXED
    assert "Found 1 problem (1 fixed, 0 remaining)." in result.out
    result = invoke(["--fix", "--exit-non-zero-on-fix", "b.py"], tmp_path, monkeypatch)
    assert result.code == 1
    assert (tmp_path / "b.py").read_text() == LL101_SAFE_FIXED
    # nothing left to fix: --exit-non-zero-on-fix no longer trips
    assert invoke(["--fix", "--exit-non-zero-on-fix", "b.py"], tmp_path, monkeypatch).code == 0


def test_diff_writes_nothing_and_prints_a_unified_diff(mixed, monkeypatch):
    before = (mixed / "app/db.py").read_bytes()
    result = invoke(["--jobs", "1", "--diff", "."], mixed, monkeypatch)
    assert (mixed / "app/db.py").read_bytes() == before
    assert result.code == 1
    assert result.out.startswith("--- app/db.py\n+++ app/db.py\n@@ ")
    assert "-    yield db\n-    db.close()\n+    try:\n+        yield db\n+    finally:\n+        db.close()\n" in result.out
    assert result.out.count("+    try:") == 1  # the unsafe fix is not part of the diff
    assert "Would fix 1 problem" in result.err
    unsafe = invoke(["--jobs", "1", "--diff", "--unsafe-fixes", "."], mixed, monkeypatch)
    assert unsafe.out.count("+    try:") == 2 and unsafe.code == 1
    assert (mixed / "app/db.py").read_bytes() == before


def test_diff_without_fixable_findings_exits_zero(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL103, "b.py": CLEAN})
    result = invoke(["--diff", "."], tmp_path, monkeypatch)
    assert (result.code, result.out) == (0, "")


def test_fixable_marks_and_summary(mixed, monkeypatch):
    plain = invoke(["--jobs", "1", "."], mixed, monkeypatch)
    assert [("[*]" in l) for l in plain.lines[:3]] == [True, False, False]
    assert plain.lines[-1] == SUMMARY_MIXED
    unsafe = invoke(["--jobs", "1", "--unsafe-fixes", "."], mixed, monkeypatch)
    assert [("[*]" in l) for l in unsafe.lines[:3]] == [True, True, False]
    assert unsafe.lines[-1] == "Found 3 problems (2 fixable with --fix)."
    write(mixed, {"app/db.py": LL101_UNSAFE})
    only_unsafe = invoke(["--jobs", "1", "."], mixed, monkeypatch)
    assert only_unsafe.lines[-1] == "Found 1 problem (1 fixable with --unsafe-fixes)."


# -- output formats --------------------------------------------------------------------------

RUFF_FIELDS = {"code", "name", "message", "filename", "location", "end_location", "fix", "noqa_row", "url"}


def test_json_has_ruffs_fields(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "--output-format", "json", "."], mixed, monkeypatch)
    assert result.code == 1
    records = json.loads(result.out)
    assert [r["code"] for r in records] == ["LL101", "LL101", "LL103"]
    for r in records:
        assert RUFF_FIELDS <= set(r)
    first, second, third = records
    assert first["filename"] == "app/db.py"
    assert first["location"] == {"row": 10, "column": 5}
    assert first["end_location"] == {"row": 10, "column": 13}
    assert first["noqa_row"] == 10
    assert first["name"] == "yielded-session-without-finally"
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["message"]
    assert first["fix"]["edits"] == [{
        "content": "    try:\n        yield db\n    finally:\n        db.close()\n",
        "location": {"row": 10, "column": 1}, "end_location": {"row": 12, "column": 1}}]
    assert second["fix"]["applicability"] == "unsafe"
    assert third["fix"] is None and third["location"] == {"row": 20, "column": 10}


def test_json_lines_matches_json(mixed, monkeypatch):
    full = json.loads(invoke(["--jobs", "1", "--output-format", "json", "."], mixed, monkeypatch).out)
    lines = invoke(["--jobs", "1", "--output-format", "json-lines", "."], mixed, monkeypatch).out.splitlines()
    assert [json.loads(l) for l in lines] == full


def test_json_without_findings_is_an_empty_list(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": CLEAN})
    result = invoke(["--jobs", "1", "--output-format", "json", "."], tmp_path, monkeypatch)
    assert (result.code, json.loads(result.out)) == (0, [])


def test_github_annotations(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "--output-format", "github", "."], mixed, monkeypatch)
    assert len(result.lines) == 3
    assert result.lines[0].startswith(
        "::error title=leaklint (LL101),file=app/db.py,line=10,col=5,endLine=10,endColumn=13::app/db.py:10:5: LL101 ")
    assert result.lines[2].startswith("::error title=leaklint (LL103),file=app/db.py,line=20,col=10,")


def test_sarif_structure(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "--output-format", "sarif", "."], mixed, monkeypatch)
    assert result.code == 1
    doc = json.loads(result.out)
    assert doc["version"] == "2.1.0"
    assert "sarif" in doc["$schema"]
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "leaklint"
    ids = [r["id"] for r in driver["rules"]]
    assert {"LL101", "LL103"} <= set(ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["LL101", "LL101", "LL103"]
    for r in results:
        assert ids[r["ruleIndex"]] == r["ruleId"]
        assert r["message"]["text"]
        loc = r["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == "app/db.py"
    region = results[2]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (20, 10)
    fix = results[0]["fixes"][0]["artifactChanges"][0]
    assert fix["replacements"][0]["insertedContent"]["text"].startswith("    try:\n")


def test_full_format_shows_source_and_help(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "--output-format", "full", "."], mixed, monkeypatch)
    out = result.out
    assert "  10 |     yield db\n" in out
    assert "           ^^^^^^^^ yielded-session-without-finally\n" in out
    assert "= help: Wrap the yield in `try/finally` that closes the session (--fix)" in out
    assert "  20 |     db = SessionLocal()\n" in out
    assert out.rstrip().endswith(SUMMARY_MIXED)


def test_statistics(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "--statistics", "."], mixed, monkeypatch)
    assert result.code == 1
    assert result.lines[:2] == ["2\tLL101\t[-] yielded-session-without-finally", "1\tLL103\t[ ] unclosed-session"]
    assert "app/db.py:" not in result.out
    as_json = invoke(["--jobs", "1", "--statistics", "--output-format", "json", "."], mixed, monkeypatch)
    assert json.loads(as_json.out) == [
        {"code": "LL101", "name": "yielded-session-without-finally", "count": 2, "fixable": False},
        {"code": "LL103", "name": "unclosed-session", "count": 1, "fixable": False},
    ]


def test_exit_zero(mixed):
    result = run_cli(["--exit-zero", "."], mixed)
    assert result.code == 0
    assert MSG103 in result.out  # still reported


def test_quiet_drops_the_summary(mixed, monkeypatch):
    result = invoke(["--jobs", "1", "-q", "."], mixed, monkeypatch)
    assert len(result.lines) == 3 and result.code == 1
    assert "Found" not in result.out
    clean = tmp = mixed / "clean"
    write(tmp, {"a.py": CLEAN})
    assert invoke(["--jobs", "1", "-q", "clean"], mixed, monkeypatch).out == ""
    assert clean.exists()


def test_output_file(mixed, monkeypatch):
    result = invoke(["-o", "reports/out.json", "--output-format", "json", "."], mixed, monkeypatch)
    assert result.code == 1 and result.out == ""
    records = json.loads((mixed / "reports/out.json").read_text())
    assert [r["code"] for r in records] == ["LL101", "LL101", "LL103"]
    result = invoke(["--output-file", "out.txt", "."], mixed, monkeypatch)
    assert result.out == ""
    assert (mixed / "out.txt").read_text().splitlines()[-1] == SUMMARY_MIXED


def test_show_files_lists_and_does_not_lint(mixed, monkeypatch):
    write(mixed, {"app/types.pyi": "x: int\n", "app/notes.txt": "x", "build/gen.py": LL103})
    result = invoke(["--show-files"], mixed, monkeypatch)
    assert result.code == 0
    assert result.lines == ["app/__init__.py", "app/db.py", "app/types.pyi"]


# -- config options --------------------------------------------------------------------------

def test_config_file_option(mixed, monkeypatch):
    write(mixed, {"pyproject.toml": '[tool.leaklint]\nselect = ["LL101"]\n', "ci/leaklint.toml": 'select = ["LL103"]\n'})
    assert [l.split()[1] for l in invoke(["-q", "--jobs", "1", "."], mixed, monkeypatch).lines] == ["LL101", "LL101"]
    result = invoke(["-q", "--jobs", "1", "--config", "ci/leaklint.toml", "."], mixed, monkeypatch)
    assert [l.split()[1] for l in result.lines] == ["LL103"]
    write(mixed, {"ci/bad.toml": 'selekt = ["LL103"]\n'})
    assert_one_line_error(invoke(["--config", "ci/bad.toml", "."], mixed, monkeypatch), "ci/bad.toml", "selekt")
    assert_one_line_error(invoke(["--config", "ci/none.toml", "."], mixed, monkeypatch), "ci/none.toml")


def test_isolated_ignores_configuration(mixed, monkeypatch):
    write(mixed, {"pyproject.toml": '[tool.leaklint]\nignore = ["LL1"]\n'})
    assert invoke(["--jobs", "1", "."], mixed, monkeypatch).code == 0
    result = invoke(["--jobs", "1", "--isolated", "."], mixed, monkeypatch)
    assert result.code == 1 and result.lines[-1] == SUMMARY_MIXED
    write(mixed, {"pyproject.toml": '[tool.leaklint]\nbogus = 1\n'})
    assert invoke(["--jobs", "1", "--isolated", "."], mixed, monkeypatch).code == 1  # not even read


# -- stdin -----------------------------------------------------------------------------------

def test_stdin_is_linted_under_the_given_name(tmp_path):
    result = run_cli(["-", "--stdin-filename", "app/deps.py"], tmp_path, stdin=MIXED.encode())
    assert result.code == 1
    assert result.lines[:3] == [
        f"app/deps.py:10:5: {MSG101}: it leaks when the request fails",
        f"app/deps.py:16:5: {MSG101_PLAIN}: it leaks when the request fails",
        f"app/deps.py:20:10: {MSG103}; use `with` or close it in `finally`",
    ]
    assert not (tmp_path / "app").exists()


def test_stdin_filename_alone_reads_stdin(tmp_path, monkeypatch):
    write(tmp_path, {"other.py": LL103})  # must not be linted: stdin is the input
    result = invoke(["--stdin-filename", "x.py", "-q"], tmp_path, monkeypatch, stdin=LL101_SAFE.encode())
    assert [l.split(":")[0] for l in result.lines] == ["x.py"]


def test_stdin_fix_prints_the_fixed_code(tmp_path, monkeypatch):
    result = run_cli(["-", "--stdin-filename", "deps.py", "--fix"], tmp_path, stdin=LL101_SAFE.encode())
    assert result.out == LL101_SAFE_FIXED
    assert "1 fixed" in result.err  # the report goes to stderr, stdout is the file
    assert result.code == 0
    unchanged = invoke(["-", "--stdin-filename", "deps.py", "--fix"], tmp_path, monkeypatch, stdin=LL103.encode())
    assert unchanged.out == LL103 and unchanged.code == 1
    assert MSG103 in unchanged.err


def test_stdin_fix_with_undecodable_input_echoes_it(tmp_path, monkeypatch):
    data = b"x = '\xff\xfe'\n"
    result = invoke(["-", "--stdin-filename", "bad.py", "--fix"], tmp_path, monkeypatch, stdin=data)
    assert result.raw == data  # an editor replacing its buffer with stdout keeps the file
    assert result.code == 1
    assert "bad.py:1:1: LL002 cannot decode file" in result.err
    lint = invoke(["-", "--stdin-filename", "bad.py"], tmp_path, monkeypatch, stdin=data)
    assert lint.lines[0].startswith("bad.py:1:1: LL002 cannot decode file")


def test_stdin_per_file_ignores_use_the_name(tmp_path, monkeypatch):
    write(tmp_path, {"pyproject.toml": '[tool.leaklint]\nper-file-ignores = {"legacy/*" = ["LL103"]}\n'})
    ignored = invoke(["-", "--stdin-filename", "legacy/a.py"], tmp_path, monkeypatch, stdin=LL103.encode())
    linted = invoke(["-", "--stdin-filename", "new/a.py"], tmp_path, monkeypatch, stdin=LL103.encode())
    assert (ignored.code, linted.code) == (0, 1)


# -- processes and pipes ---------------------------------------------------------------------

def test_jobs_do_not_change_the_output(tmp_path):
    files = {f"pkg/m{i:02d}.py": (MIXED if i % 3 else LL103) for i in range(9)}
    files["pkg/__init__.py"] = ""  # 10 files: above runner.SERIAL_BELOW, so --jobs 2 really uses a pool
    write(tmp_path, files)
    one = run_cli(["--jobs", "1", "--output-format", "json-lines", "."], tmp_path)
    two = run_cli(["--jobs", "2", "--output-format", "json-lines", "."], tmp_path)
    assert one.code == two.code == 1
    assert one.out == two.out
    names = [json.loads(l)["filename"] for l in one.lines]
    assert names == sorted(names) and len(set(names)) == 9


def test_head_ends_quietly(tmp_path):
    body = DB + "".join(f"\n\ndef count{i}():\n    db = SessionLocal()\n    return db.query(1).count()\n"
                        for i in range(320))  # ~95 KB of output: more than a pipe holds (64 KiB)
    write(tmp_path, {"src/big.py": body})
    cmd = f"{shlex.quote(sys.executable)} -m leaklint --output-format json-lines src/ | head -1"
    proc = subprocess.run(["sh", "-c", cmd], cwd=str(tmp_path), capture_output=True, timeout=60)
    assert proc.stderr == b"", proc.stderr.decode()
    assert len(proc.stdout.splitlines()) == 1
    assert json.loads(proc.stdout)["code"] == "LL103"


def test_closed_stdout_ends_quietly(tmp_path):
    write(tmp_path, {"src/a.py": MIXED})
    proc = subprocess.Popen([sys.executable, "-m", "leaklint", "src/"], cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before leaklint writes a byte
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert err == b"", err.decode()
    assert proc.returncode in (0, 1)


# -- rule documentation ----------------------------------------------------------------------

def test_rule_command(tmp_path, monkeypatch):
    from leaklint.registry import all_rules

    text = invoke(["rule", "LL101"], tmp_path, monkeypatch)
    assert text.code == 0
    assert text.out.startswith("# yielded-session-without-finally (LL101)\n")
    assert "## What it does" in text.out and "## Fix safety" in text.out
    by_name = invoke(["rule", "unclosed-session"], tmp_path, monkeypatch)
    assert by_name.out.startswith("# unclosed-session (LL103)")
    every = invoke(["rule", "--all"], tmp_path, monkeypatch)
    for code, rule in all_rules().items():
        assert f"# {rule.name} ({code})" in every.out
    records = json.loads(invoke(["rule", "--output-format", "json"], tmp_path, monkeypatch).out)
    assert [r["code"] for r in records] == list(all_rules())
    assert {"code", "name", "message", "explanation", "fix_availability"} <= set(records[0])
    one = json.loads(invoke(["rule", "LL103", "--output-format", "json"], tmp_path, monkeypatch).out)
    assert one["code"] == "LL103" and "## What it does" in one["explanation"]
    table = invoke(["rule"], tmp_path, monkeypatch)
    assert "LL101" in table.out and "LL104" in table.out


def test_unknown_rule_is_exit_2(tmp_path):
    result = run_cli(["rule", "LL999"], tmp_path)
    assert_one_line_error(result, "LL999")


def test_preview_rules_need_preview(mixed, monkeypatch):
    from leaklint.registry import rule_by_code

    monkeypatch.setattr(rule_by_code("LL103"), "preview", True)  # pretend LL103 were a preview rule
    assert [l.split()[1] for l in invoke(["--jobs", "1", "-q"], mixed, monkeypatch).lines] == ["LL101", "LL101"]
    with_flag = invoke(["--jobs", "1", "-q", "--preview"], mixed, monkeypatch)
    assert [l.split()[1] for l in with_flag.lines] == ["LL101", "LL101", "LL103"]
    write(mixed, {"pyproject.toml": "[tool.leaklint]\npreview = true\n"})
    assert [l.split()[1] for l in invoke(["--jobs", "1", "-q"], mixed, monkeypatch).lines] == ["LL101", "LL101", "LL103"]
