"""LL005 (unused `# noqa: LLxxx`, opt-in like ruff's RUF100) with its safe fix, and --add-noqa."""

import textwrap

from _infra import DB, LL103, invoke, write

LL103_LINE = 9  # `db = SessionLocal()` in LL103


def _run(root, monkeypatch, *args):
    return invoke(["--jobs", "1", *args], root, monkeypatch)


def _with_comment(source, row, comment):
    lines = source.splitlines(True)
    lines[row - 1] = lines[row - 1].rstrip("\n") + "  " + comment + "\n"
    return "".join(lines)


def test_an_unused_directive_is_reported_only_when_selected(tmp_path, monkeypatch):
    clean = DB + "\n\ndef count():\n    with SessionLocal() as db:  # noqa: LL103\n        return db.query(1).count()\n"
    write(tmp_path, {"app.py": clean})
    assert _run(tmp_path, monkeypatch, ".").code == 0  # off by default
    result = _run(tmp_path, monkeypatch, "--extend-select", "LL005", ".")
    assert result.code == 1
    assert result.lines[0] == "app.py:9:33: LL005 [*] Unused `noqa` directive (unused: `LL103`)"


def test_a_used_directive_and_other_tools_codes_are_left_alone(tmp_path, monkeypatch):
    used = _with_comment(LL103, LL103_LINE, "# noqa: LL103")
    others = _with_comment(LL103, LL103_LINE, "# noqa: LL103, E501") + "import os  # noqa: F401\nx = 1  # noqa\n"
    write(tmp_path, {"used.py": used, "others.py": others})
    assert _run(tmp_path, monkeypatch, "--extend-select", "LL005", ".").code == 0


def test_a_directive_for_a_rule_that_did_not_run_is_not_judged(tmp_path, monkeypatch):
    write(tmp_path, {"app.py": "x = 1  # noqa: LL103\n"})
    assert _run(tmp_path, monkeypatch, "--select", "LL005,LL4", ".").code == 0
    assert _run(tmp_path, monkeypatch, "--select", "LL005,LL1", ".").code == 1


def test_the_fix_removes_only_the_unused_codes(tmp_path, monkeypatch):
    source = textwrap.dedent('''\
        import os  # noqa: F401, LL103
        x = 1  # noqa: LL103
        y = 2  # type: ignore  # noqa: LL101, LL103
        ''')
    write(tmp_path, {"app.py": source})
    fixed = _run(tmp_path, monkeypatch, "--select", "LL005,LL1", "--fix", ".")
    assert fixed.code == 0, fixed.out
    assert (tmp_path / "app.py").read_text() == "import os  # noqa: F401\nx = 1\ny = 2  # type: ignore\n"
    again = _run(tmp_path, monkeypatch, "--select", "LL005,LL1", "--fix", ".")
    assert again.code == 0 and "Found" not in again.out


def test_the_fix_keeps_a_directive_that_is_still_used(tmp_path, monkeypatch):
    write(tmp_path, {"app.py": _with_comment(LL103, LL103_LINE, "# noqa: LL103, LL101")})
    result = _run(tmp_path, monkeypatch, "--select", "LL005,LL1", "--fix", ".")
    assert result.code == 0
    assert (tmp_path / "app.py").read_text() == _with_comment(LL103, LL103_LINE, "# noqa: LL103")


def test_add_noqa_silences_every_finding(tmp_path, monkeypatch):
    multi = DB + textwrap.dedent('''\


        def count():
            db = SessionLocal(
            )
            text = """
        x""" ; other = SessionLocal()
            return db, other, text  # the caller closes them
        ''')
    write(tmp_path, {"app.py": multi, "count.py": _with_comment(LL103, LL103_LINE, "# noqa: E501")})
    before = _run(tmp_path, monkeypatch, ".")
    assert before.code == 1
    added = _run(tmp_path, monkeypatch, "--add-noqa", ".")
    assert added.code == 0 and "Added" in added.err
    assert _run(tmp_path, monkeypatch, ".").code == 0
    assert "# noqa: E501, LL103" in (tmp_path / "count.py").read_text()
    assert _run(tmp_path, monkeypatch, "--extend-select", "LL005", ".").code == 0  # none of them unused
    again = _run(tmp_path, monkeypatch, "--add-noqa", ".")
    assert "Added 0 noqa" in again.err
