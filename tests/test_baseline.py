"""Baselines: --write-baseline, --baseline and the `baseline` setting; fingerprints that survive
moved lines and unrelated edits, duplicates counted, fixed findings dropped on rewrite."""

import json
import textwrap

import pytest

from _infra import DB, invoke, write

LEAKY = DB + textwrap.dedent('''\


    def count():
        db = SessionLocal()
        return db.query(1).count()


    def total():
        db = SessionLocal()
        return db.query(1).count()
    ''')


def _run(root, monkeypatch, *args):
    return invoke(["--jobs", "1", *args], root, monkeypatch)


@pytest.fixture()
def project(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\n", "app.py": LEAKY})
    return tmp_path


def test_written_baseline_silences_todays_findings(project, monkeypatch):
    wrote = _run(project, monkeypatch, "--write-baseline", "leaklint-baseline.json", ".")
    assert wrote.code == 0 and "Wrote 2 finding(s)" in wrote.err
    doc = json.loads((project / "leaklint-baseline.json").read_text())
    assert doc["leaklint-baseline"] == 1
    assert [(f["path"], f["code"], f["count"]) for f in doc["findings"]] == [("app.py", "LL103", 2)]
    assert _run(project, monkeypatch, "--baseline", "leaklint-baseline.json", ".").code == 0
    assert _run(project, monkeypatch, ".").code == 1


def test_moved_lines_and_unrelated_edits_keep_findings_baselined(project, monkeypatch):
    _run(project, monkeypatch, "--write-baseline", "b.json", ".")
    moved = '"""The app."""\nimport logging\n\nlog = logging.getLogger(__name__)\n' + LEAKY.replace(
        "    return db.query(1).count()\n\n\ndef total", "    # counted per request\n    return db.query(1).count()\n\n\ndef total")
    moved = moved.replace("    db = SessionLocal()", "        db   =   SessionLocal()", 1).replace(
        "def count():\n        db", "def count():\n    if True:\n        db")
    (project / "app.py").write_text(moved)
    result = _run(project, monkeypatch, "--baseline", "b.json", ".")
    assert result.code == 0, result.out


def test_a_new_duplicate_is_reported_beyond_the_count(project, monkeypatch):
    _run(project, monkeypatch, "--write-baseline", "b.json", ".")
    (project / "app.py").write_text(LEAKY + "\n\ndef third():\n    db = SessionLocal()\n    return db.query(1).count()\n")
    result = _run(project, monkeypatch, "--baseline", "b.json", ".")
    assert result.code == 1
    assert [line.split(": ")[0] for line in result.lines if "LL103" in line] == ["app.py:19:10"]


def test_a_fixed_finding_drops_out_when_the_baseline_is_rewritten(project, monkeypatch):
    _run(project, monkeypatch, "--write-baseline", "b.json", ".")
    (project / "app.py").write_text(LEAKY.replace(
        "def total():\n    db = SessionLocal()\n    return db.query(1).count()",
        "def total():\n    with SessionLocal() as db:\n        return db.query(1).count()"))
    _run(project, monkeypatch, "--write-baseline", "b.json", ".")
    doc = json.loads((project / "b.json").read_text())
    assert [f["count"] for f in doc["findings"]] == [1]
    (project / "app.py").write_text(LEAKY)  # the leak comes back: it is new again
    assert _run(project, monkeypatch, "--baseline", "b.json", ".").code == 1


def test_the_baseline_setting_is_relative_to_the_config(project, monkeypatch):
    (project / "pyproject.toml").write_text('[tool.leaklint]\nbaseline = "ci/baseline.json"\n')
    _run(project, monkeypatch, "--write-baseline", "ci/baseline.json", ".")
    (project / "sub").mkdir()
    assert _run(project / "sub", monkeypatch, "..").code == 0


def test_a_missing_or_broken_baseline_is_one_line(project, monkeypatch):
    missing = _run(project, monkeypatch, "--baseline", "nope.json", ".")
    assert missing.code == 2
    assert missing.err.strip() == ("leaklint: error: nope.json: baseline file not found "
                                   "(create it with --write-baseline nope.json)")
    (project / "bad.json").write_text("{not json")
    broken = _run(project, monkeypatch, "--baseline", "bad.json", ".")
    assert broken.code == 2 and broken.err.count("\n") == 1 and "not a leaklint baseline" in broken.err
