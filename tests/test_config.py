"""``[tool.leaklint]`` in ``pyproject.toml``: discovery, every key, and strict one-line errors."""

from __future__ import annotations

import json

import pytest

from _infra import CLEAN, LL101_SAFE, LL101_SAFE_FIXED, LL101_UNSAFE, LL103, MIXED, assert_one_line_error, invoke, \
    run_cli, write


def codes(result):
    return [l.split()[1] for l in result.lines if ": LL" in l]


def files(result):
    return sorted({l.split(":")[0] for l in result.lines if ": LL" in l})


def pyproject(root, body: str, where: str = "pyproject.toml") -> None:
    write(root, {where: "[project]\nname = 'demo'\n\n[tool.leaklint]\n" + body})


@pytest.fixture
def project(tmp_path):
    write(tmp_path, {"app/__init__.py": "", "app/db.py": MIXED})
    return tmp_path


def test_found_from_a_nested_directory(project, monkeypatch):
    pyproject(project, 'select = ["LL103"]\n')
    write(project, {"app/sub/deep/leaky.py": LL103})
    # run from two levels down: the root pyproject still applies, and its folder anchors globs
    result = invoke(["--jobs", "1", "-q", "."], project / "app" / "sub", monkeypatch)
    assert codes(result) == ["LL103"]
    result = invoke(["--jobs", "1", "-q", "app/db.py"], project, monkeypatch)
    assert codes(result) == ["LL103"]


def test_nearest_pyproject_with_a_leaklint_table_wins(project, monkeypatch):
    pyproject(project, 'select = ["LL103"]\n')
    write(project, {"app/pyproject.toml": "[project]\nname = 'inner'\n"})  # no [tool.leaklint]: skipped
    assert codes(invoke(["--jobs", "1", "-q", "db.py"], project / "app", monkeypatch)) == ["LL103"]
    write(project, {"app/pyproject.toml": '[tool.leaklint]\nselect = ["LL101"]\n'})
    assert codes(invoke(["--jobs", "1", "-q", "db.py"], project / "app", monkeypatch)) == ["LL101", "LL101"]


def test_select_ignore_extend_select(project, monkeypatch):
    pyproject(project, 'select = ["LL103"]\nextend-select = ["LL101"]\nignore = ["LL103"]\n')
    assert codes(invoke(["--jobs", "1", "-q"], project, monkeypatch)) == ["LL101", "LL101"]
    # the command line adds to the config's ignore list and replaces its select
    pyproject(project, 'ignore = ["LL101"]\n')
    assert codes(invoke(["--jobs", "1", "-q"], project, monkeypatch)) == ["LL103"]
    assert codes(invoke(["--jobs", "1", "-q", "--ignore", "LL103"], project, monkeypatch)) == []
    pyproject(project, 'select = ["LL101"]\n')
    assert codes(invoke(["--jobs", "1", "-q", "--select", "LL103"], project, monkeypatch)) == ["LL103"]


def test_per_file_ignores_globs(tmp_path, monkeypatch):
    write(tmp_path, {"app/db.py": MIXED, "tests/test_db.py": MIXED, "tests/unit/test_more.py": MIXED,
                     "scripts/one_off.py": MIXED})
    pyproject(tmp_path, 'per-file-ignores = {"tests/*" = ["LL1"], "one_off.py" = ["LL101"], '
                        '"app/*.py" = ["LL103"]}\n')
    result = invoke(["--jobs", "1", "-q"], tmp_path, monkeypatch)
    assert files(result) == ["app/db.py", "scripts/one_off.py"]
    by_file = {}
    for line in result.lines:
        by_file.setdefault(line.split(":")[0], []).append(line.split()[1])
    assert by_file == {"app/db.py": ["LL101", "LL101"], "scripts/one_off.py": ["LL103"]}
    # the globs are relative to the config's folder, wherever the run starts
    sub = invoke(["--jobs", "1", "-q", "."], tmp_path / "tests", monkeypatch)
    assert sub.out == "" and sub.code == 0


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path, monkeypatch):
    write(tmp_path, {"app/a.py": LL103, "app/generated/g.py": LL103, "build/b.py": LL103, "legacy/l.py": LL103})
    pyproject(tmp_path, 'extend-exclude = ["app/generated", "legacy"]\n')
    assert files(invoke(["--jobs", "1", "-q"], tmp_path, monkeypatch)) == ["app/a.py"]
    pyproject(tmp_path, 'exclude = ["legacy"]\n')  # replaces the defaults: build/ is linted again
    assert files(invoke(["--jobs", "1", "-q"], tmp_path, monkeypatch)) == ["app/a.py", "app/generated/g.py",
                                                                           "build/b.py"]
    # the command-line flags do the same
    result = invoke(["--jobs", "1", "-q", "--isolated", "--extend-exclude", "app,legacy"], tmp_path, monkeypatch)
    assert files(result) == []
    result = invoke(["--jobs", "1", "-q", "--isolated", "--exclude", "app"], tmp_path, monkeypatch)
    assert files(result) == ["build/b.py", "legacy/l.py"]


def test_unsafe_fixes_key(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL101_UNSAFE})
    assert "[*]" not in invoke(["--jobs", "1"], tmp_path, monkeypatch).out
    pyproject(tmp_path, "unsafe-fixes = true\n")
    assert "[*]" in invoke(["--jobs", "1"], tmp_path, monkeypatch).out
    invoke(["--jobs", "1", "--fix"], tmp_path, monkeypatch)
    assert "finally:" in (tmp_path / "a.py").read_text()
    write(tmp_path, {"a.py": LL101_UNSAFE})
    invoke(["--jobs", "1", "--fix", "--no-unsafe-fixes"], tmp_path, monkeypatch)  # the flag wins
    assert (tmp_path / "a.py").read_text() == LL101_UNSAFE


def test_output_format_key(project, monkeypatch):
    pyproject(project, 'output-format = "json"\n')
    records = json.loads(invoke(["--jobs", "1"], project, monkeypatch).out)
    assert [r["code"] for r in records] == ["LL101", "LL101", "LL103"]
    out = invoke(["--jobs", "1", "--output-format", "concise", "-q"], project, monkeypatch).out
    assert out.startswith("app/db.py:10:5: LL101")


def test_respect_gitignore_and_force_exclude_keys(tmp_path, monkeypatch):
    write(tmp_path, {"build/b.py": LL103, "a.py": CLEAN})
    assert files(invoke(["--jobs", "1", "-q", "build/b.py"], tmp_path, monkeypatch)) == ["build/b.py"]
    pyproject(tmp_path, "force-exclude = true\nrespect-gitignore = false\n")
    assert files(invoke(["--jobs", "1", "-q", "build/b.py"], tmp_path, monkeypatch)) == []


# -- errors: one line, naming the file and the key, exit 2 -----------------------------------

@pytest.mark.parametrize("body,needles", [
    ('selct = ["LL1"]\n', ["'tool.leaklint.selct'", "unknown key"]),
    ('select = "LL101"\n', ["'tool.leaklint.select'", "list of strings"]),
    ('ignore = [101]\n', ["'tool.leaklint.ignore'", "list of strings"]),
    ('extend-select = ["XY1"]\n', ["'tool.leaklint.extend-select'", "XY1"]),
    ('select = ["LL1", "LL9"]\n', ["'tool.leaklint.select'", "LL9"]),
    ('exclude = "build"\n', ["'tool.leaklint.exclude'"]),
    ('extend-exclude = [true]\n', ["'tool.leaklint.extend-exclude'"]),
    ('unsafe-fixes = "yes"\n', ["'tool.leaklint.unsafe-fixes'", "true or false"]),
    ('respect-gitignore = 1\n', ["'tool.leaklint.respect-gitignore'"]),
    ('force-exclude = "no"\n', ["'tool.leaklint.force-exclude'"]),
    ('preview = []\n', ["'tool.leaklint.preview'"]),
    ('output-format = "xml"\n', ["'tool.leaklint.output-format'", "xml"]),
    ('output-format = 3\n', ["'tool.leaklint.output-format'"]),
    ('per-file-ignores = ["tests/*"]\n', ["'tool.leaklint.per-file-ignores'"]),
    ('per-file-ignores = {"tests/*" = "LL101"}\n', ["'tool.leaklint.per-file-ignores.tests/*'"]),
    ('per-file-ignores = {"tests/*" = ["LL101", "QQ1"]}\n', ["'tool.leaklint.per-file-ignores.tests/*'", "QQ1"]),
    ('resources = ["pool"]\n', ["'tool.leaklint.resources'", "table of resource kinds"]),
    ('resources = {pool = {acquire = ["a.b"]}}\n', ["'tool.leaklint.resources'", "`pool.release`"]),
    ('resources = {pool = {acquire = [], release = ["close"]}}\n', ["'tool.leaklint.resources'", "`pool.acquire`"]),
    ('resources = {pool = {acquire = ["open_pool"], release = ["close"]}}\n', ["qualified names"]),
    ('resources = {pool = {acquire = ["a.b"], release = ["close"], relase = 1}}\n', ["unknown key `relase`"]),
    ('resources = {session = {acquire = ["a.b"], release = ["close"]}}\n', ["`session` is a built-in"]),
])
def test_bad_config_is_one_line_naming_file_and_key(project, monkeypatch, body, needles):
    pyproject(project, body)
    result = invoke(["--jobs", "1", "app"], project, monkeypatch)
    assert_one_line_error(result, str(project / "pyproject.toml"), *needles)
    assert result.out == ""  # nothing was linted with the wrong rules


def test_leaklint_table_that_is_not_a_table(project, monkeypatch):
    write(project, {"pyproject.toml": '[tool]\nleaklint = "LL1"\n'})
    assert_one_line_error(invoke(["app"], project, monkeypatch), "pyproject.toml", "tool.leaklint")


def test_broken_toml(project):
    write(project, {"pyproject.toml": '[tool.leaklint]\nselect = ["LL1"\nignore = []\n'})
    result = run_cli(["app"], project)  # the real process: exit code and no traceback
    assert_one_line_error(result, str(project / "pyproject.toml"), "invalid TOML", "line 3")


def test_broken_toml_found_from_a_subdirectory(project, monkeypatch):
    write(project, {"pyproject.toml": "[tool.leaklint\n"})
    result = invoke(["."], project / "app", monkeypatch)
    assert_one_line_error(result, str(project / "pyproject.toml"), "invalid TOML")


def test_undecodable_pyproject(project, monkeypatch):
    write(project, {"pyproject.toml": b'[tool.leaklint]\nselect = ["\xff"]\n'})
    assert_one_line_error(invoke(["app"], project, monkeypatch), "pyproject.toml")


def test_standalone_config_file_uses_top_level_keys(project, monkeypatch):
    write(project, {"conf/leaklint.toml": 'select = ["LL101"]\n', "pyproject.toml": '[tool.leaklint]\nbad = 1\n'})
    result = invoke(["--jobs", "1", "--config", "conf/leaklint.toml", "app"], project, monkeypatch)
    assert codes(result) == ["LL101", "LL101"]  # and the broken pyproject.toml is not read
    write(project, {"conf/leaklint.toml": 'select = ["LL1"]\nper-file-ignores = {"db.py" = ["LL101"]}\n'})
    result = invoke(["--jobs", "1", "--config", "conf/leaklint.toml", "app"], project, monkeypatch)
    assert codes(result) == ["LL103"]
    write(project, {"conf/leaklint.toml": 'unknown = 1\n'})
    assert_one_line_error(invoke(["--config", "conf/leaklint.toml", "app"], project, monkeypatch),
                          "conf/leaklint.toml", "'unknown'")


def test_fix_with_config(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL101_SAFE, "b.py": LL101_SAFE})
    pyproject(tmp_path, 'per-file-ignores = {"b.py" = ["LL101"]}\n')
    invoke(["--jobs", "1", "--fix"], tmp_path, monkeypatch)
    assert (tmp_path / "a.py").read_text() == LL101_SAFE_FIXED
    assert (tmp_path / "b.py").read_text() == LL101_SAFE  # an ignored rule's fix is not applied


def test_resources_key_declares_a_kind_that_ll106_checks(tmp_path, monkeypatch):
    write(tmp_path, {
        "pyproject.toml": "[tool.leaklint.resources.ftp]\nacquire = ['ftplib.FTP']\nrelease = ['quit', 'close']\n"
                          "label = 'FTP connection'\n",
        "jobs.py": "import ftplib\n\n\ndef fetch(host):\n    ftp = ftplib.FTP(host)\n    ftp.login()\n"
                   "    return ftp.nlst()\n",
        "ok.py": "import ftplib\n\n\ndef fetch(host):\n    with ftplib.FTP(host) as ftp:\n        return ftp.nlst()\n",
    })
    result = invoke(["--jobs", "1", "."], tmp_path, monkeypatch)
    assert result.code == 1, result.out + result.err
    assert "jobs.py:5:11: LL106 FTP connection `ftp` is never released; release it with `quit`" in result.out
    assert "ok.py" not in result.out
