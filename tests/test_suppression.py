"""``# noqa`` and ``# leaklint: noqa``: handled once by the engine, for every rule."""

from __future__ import annotations


from _infra import DB, LL103, MIXED, invoke, run_cli, write  # noqa: F401


def found(tmp_path, monkeypatch, source: str, *extra: str):
    write(tmp_path, {"m.py": source})
    result = invoke(["--jobs", "1", "-q", "--output-format", "json-lines", *extra, "m.py"], tmp_path, monkeypatch)
    import json

    return [(r["code"], r["location"]["row"]) for r in map(json.loads, result.lines)]


ALL_FINDINGS = [("LL101", 10), ("LL101", 16), ("LL103", 20)]


def on_line(source: str, row: int, comment: str) -> str:
    lines = source.splitlines(True)
    lines[row - 1] = lines[row - 1].rstrip("\n") + "  " + comment + "\n"
    return "".join(lines)


def test_baseline(tmp_path, monkeypatch):
    assert found(tmp_path, monkeypatch, MIXED) == ALL_FINDINGS


LINE_CASES = [
    ("# noqa: LL101", [("LL101", 16), ("LL103", 20)]),
    ("# noqa:LL101", [("LL101", 16), ("LL103", 20)]),
    ("# noqa: LL103", ALL_FINDINGS),                       # another code does not silence LL101
    ("# noqa:LL101,LL103", [("LL101", 16), ("LL103", 20)]),
    ("# noqa: LL103, LL101", [("LL101", 16), ("LL103", 20)]),
    ("# noqa: LL103 LL101", [("LL101", 16), ("LL103", 20)]),
    ("# noqa", [("LL101", 16), ("LL103", 20)]),
    ("# NOQA: ll101", [("LL101", 16), ("LL103", 20)]),
    ("# NoQa", [("LL101", 16), ("LL103", 20)]),
    ("#noqa:LL101", [("LL101", 16), ("LL103", 20)]),
    ("# type: ignore  # noqa: LL101", [("LL101", 16), ("LL103", 20)]),
    ("# noqa: LL101 -- the endpoint closes it", [("LL101", 16), ("LL103", 20)]),
    ("# noqa: E501", ALL_FINDINGS),                        # someone else's code
    ("# no qa", ALL_FINDINGS),
    ("# leaklint: noqa", ALL_FINDINGS),                    # file-level only on a line of its own
]


def test_line_noqa(tmp_path, monkeypatch):
    """Every variant in one run (one file each): the engine reads each file's comments itself."""
    import json

    for i, (comment, _) in enumerate(LINE_CASES):
        write(tmp_path, {f"m{i:02d}.py": on_line(MIXED, 10, comment)})
    result = invoke(["--jobs", "1", "-q", "--output-format", "json-lines", "."], tmp_path, monkeypatch)
    got = {}
    for record in map(json.loads, result.lines):
        got.setdefault(record["filename"], []).append((record["code"], record["location"]["row"]))
    for i, (comment, expected) in enumerate(LINE_CASES):
        assert got.get(f"m{i:02d}.py", []) == expected, comment


def test_noqa_on_the_def_line_does_not_cover_the_body(tmp_path, monkeypatch):
    source = on_line(LL103, 8, "# noqa: LL103")  # `def count():  # noqa: LL103`
    assert found(tmp_path, monkeypatch, source) == [("LL103", 9)]


def test_noqa_inside_a_string_does_not_count(tmp_path, monkeypatch):
    source = MIXED.replace("    yield db\n    db.close()", '    yield db; x = "# noqa"\n    db.close()', 1)
    assert ("LL101", 10) in found(tmp_path, monkeypatch, source)
    source = MIXED.replace("    db = SessionLocal()\n    n =", '    db = SessionLocal(); y = "# noqa: LL103"\n    n =')
    assert ("LL103", 20) in found(tmp_path, monkeypatch, source)
    docstring = DB + '\n\ndef count():\n    """Text.\n\n    # noqa\n    """\n    db = SessionLocal()\n    return db.query(1)\n'
    assert found(tmp_path, monkeypatch, docstring) == [("LL103", 13)]


def test_noqa_on_the_first_line_of_a_multi_line_statement(tmp_path, monkeypatch):
    plain = DB + "\n\ndef count():\n    db = (\n        SessionLocal()\n    )\n    return db.query(1)\n"
    assert found(tmp_path, monkeypatch, plain) == [("LL103", 10)]  # the call, a line below the statement
    assert found(tmp_path, monkeypatch, on_line(plain, 9, "# noqa: LL103")) == []
    assert found(tmp_path, monkeypatch, on_line(plain, 10, "# noqa: LL103")) == []
    assert found(tmp_path, monkeypatch, on_line(plain, 9, "# noqa: LL101")) == [("LL103", 10)]
    # a noqa on the closing line of the statement is not where a reader looks for it: not honoured
    assert found(tmp_path, monkeypatch, on_line(plain, 11, "# noqa: LL103")) == [("LL103", 10)]


def test_file_level_noqa(tmp_path, monkeypatch):
    assert found(tmp_path, monkeypatch, "# leaklint: noqa\n" + MIXED) == []
    assert found(tmp_path, monkeypatch, "# leaklint: noqa: LL103\n" + MIXED) == [("LL101", 11), ("LL101", 17)]
    assert found(tmp_path, monkeypatch, "# LEAKLINT: NOQA: ll101\n" + MIXED) == [("LL103", 21)]
    assert found(tmp_path, monkeypatch, "# leaklint: noqa: LL101, LL103\n" + MIXED) == []
    # anywhere in the file, as long as the comment is alone on its line
    assert found(tmp_path, monkeypatch, MIXED + "# leaklint: noqa: LL101 LL103\n") == []
    assert found(tmp_path, monkeypatch, MIXED + "    # leaklint:noqa\n") == []
    # not a comment: no effect
    assert found(tmp_path, monkeypatch, 'X = "# leaklint: noqa"\n' + MIXED) == [("LL101", 11), ("LL101", 17), ("LL103", 21)]


def test_noqa_through_the_real_cli(tmp_path):
    write(tmp_path, {"a.py": on_line(LL103, 9, "# noqa: LL103"), "b.py": "# leaklint: noqa\n" + LL103,
                     "c.py": LL103})
    result = run_cli(["-q", "."], tmp_path)
    assert [l.split(":")[0] for l in result.lines] == ["c.py"]
    assert result.code == 1


def test_suppressed_fixable_finding_is_not_fixed(tmp_path, monkeypatch):
    source = on_line(MIXED, 10, "# noqa: LL101")
    write(tmp_path, {"m.py": source})
    invoke(["--jobs", "1", "--fix", "--unsafe-fixes", "m.py"], tmp_path, monkeypatch)
    text = (tmp_path / "m.py").read_text()
    assert text.count("finally:") == 1  # only get_db2's yield was wrapped
    assert "    yield db  # noqa: LL101\n    db.close()\n" in text
