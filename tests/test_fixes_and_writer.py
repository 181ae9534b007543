"""Fixes keep files intact (encoding, BOM, line endings, mode, formatting); writes are atomic;
bad input is a one-line finding and never a traceback."""

from __future__ import annotations

import os
import stat

import libcst as cst
import pytest

from _infra import (LL101_SAFE, LL101_SAFE_FIXED, LL101_UNSAFE, LL103, MIXED, invoke, run_cli, write)
from leaklint import writer


def fix(tmp_path, monkeypatch, *args):
    return invoke(["--jobs", "1", "--fix", *args], tmp_path, monkeypatch)


def leftovers(folder):
    return [n for n in os.listdir(str(folder)) if n.startswith(".leaklint-")]


# -- what a fix keeps ------------------------------------------------------------------------

def test_fix_keeps_crlf_line_endings(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL101_SAFE.replace("\n", "\r\n").encode()})
    fix(tmp_path, monkeypatch, "a.py")
    assert (tmp_path / "a.py").read_bytes() == LL101_SAFE_FIXED.replace("\n", "\r\n").encode()


def test_fix_keeps_a_utf8_bom(tmp_path, monkeypatch):
    source = "# caf\u00e9\n" + LL101_SAFE
    write(tmp_path, {"a.py": b"\xef\xbb\xbf" + source.encode()})
    result = fix(tmp_path, monkeypatch, "a.py")
    assert "1 fixed" in result.out
    expected = "# caf\u00e9\n" + LL101_SAFE_FIXED
    assert (tmp_path / "a.py").read_bytes() == b"\xef\xbb\xbf" + expected.encode()


def test_fix_keeps_latin1_with_a_coding_cookie(tmp_path, monkeypatch):
    head = "# -*- coding: latin-1 -*-\n# \u00e9t\u00e9, na\u00efve\n"
    source = head + LL101_SAFE.replace("    yield db\n", "    yield db  # r\u00e9sum\u00e9\n")
    write(tmp_path, {"a.py": source.encode("latin-1")})
    result = fix(tmp_path, monkeypatch, "a.py")
    assert "1 fixed" in result.out
    data = (tmp_path / "a.py").read_bytes()
    expected = head + LL101_SAFE_FIXED.replace("        yield db\n", "        yield db  # r\u00e9sum\u00e9\n")
    assert data == expected.encode("latin-1")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # still Latin-1 on disk


def test_fix_keeps_comments_and_formatting(tmp_path, monkeypatch):
    odd = ("# leading comment\n"
           "X = [1,2 ,  3]   # spacing kept\n"
           "Y = {'a':1}\n\n\n")
    source = odd + LL101_SAFE.replace("    db = SessionLocal()\n",
                                      "    db = SessionLocal()   # make it\n    # before the yield\n")
    write(tmp_path, {"a.py": source})
    fix(tmp_path, monkeypatch, "a.py")
    text = (tmp_path / "a.py").read_text()
    assert text.startswith(odd)
    assert "    db = SessionLocal()   # make it\n    # before the yield\n    try:\n        yield db\n" in text


def test_fix_keeps_the_file_mode(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL101_SAFE})
    os.chmod(str(tmp_path / "a.py"), 0o751)
    fix(tmp_path, monkeypatch, "a.py")
    assert (tmp_path / "a.py").read_text() == LL101_SAFE_FIXED
    assert stat.S_IMODE(os.stat(str(tmp_path / "a.py")).st_mode) == 0o751
    assert leftovers(tmp_path) == []


def test_fix_through_a_symlink_keeps_the_link(tmp_path, monkeypatch):
    write(tmp_path, {"real/a.py": LL101_SAFE})
    os.symlink(str(tmp_path / "real" / "a.py"), str(tmp_path / "link.py"))
    fix(tmp_path, monkeypatch, "link.py")
    assert os.path.islink(str(tmp_path / "link.py"))
    assert (tmp_path / "real" / "a.py").read_text() == LL101_SAFE_FIXED


def test_second_fix_changes_nothing(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": MIXED, "b.py": LL101_UNSAFE})
    first = fix(tmp_path, monkeypatch, "--unsafe-fixes", ".")
    assert "3 fixed" in first.out
    after = {n: (tmp_path / n).read_bytes() for n in ("a.py", "b.py")}
    second = fix(tmp_path, monkeypatch, "--unsafe-fixes", "--exit-non-zero-on-fix", ".")
    assert {n: (tmp_path / n).read_bytes() for n in ("a.py", "b.py")} == after
    assert "fixed" not in second.out
    assert second.code == 1  # LL103 remains, but not because of a fix: only it is listed
    assert [l.split()[1] for l in second.lines if ": LL" in l] == ["LL103"]


def test_diff_matches_what_fix_writes(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": MIXED})
    diff = invoke(["--jobs", "1", "--diff", "--unsafe-fixes", "a.py"], tmp_path, monkeypatch).out
    fix(tmp_path, monkeypatch, "--unsafe-fixes", "a.py")
    fixed = (tmp_path / "a.py").read_text()
    added = [l[1:] for l in diff.splitlines() if l.startswith("+") and not l.startswith("+++")]
    assert added and all(line + "\n" in fixed for line in added)


# -- atomic writes ---------------------------------------------------------------------------

def test_write_atomic_replace_failure_keeps_the_original(tmp_path, monkeypatch):
    target = tmp_path / "a.py"
    target.write_bytes(b"original\n")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer.os, "replace", broken_replace)
    with pytest.raises(writer.WriteError) as info:
        writer.write_atomic(str(target), b"new content\n")
    assert "No space left on device" in str(info.value)
    assert target.read_bytes() == b"original\n"
    assert leftovers(tmp_path) == []


def test_write_atomic_writes_and_keeps_mode(tmp_path):
    target = tmp_path / "a.py"
    target.write_bytes(b"old\n")
    os.chmod(str(target), 0o640)
    writer.write_atomic(str(target), b"new\r\n")
    assert target.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o640
    assert leftovers(tmp_path) == []


def test_failed_write_during_fix_is_one_line_and_the_run_goes_on(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL101_SAFE, "b.py": LL101_SAFE})
    real_replace = os.replace

    def replace(src, dst):
        if os.path.basename(dst) == "a.py":
            raise OSError(13, "Permission denied")
        return real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", replace)
    result = fix(tmp_path, monkeypatch, ".")
    assert (tmp_path / "a.py").read_text() == LL101_SAFE
    assert (tmp_path / "b.py").read_text() == LL101_SAFE_FIXED
    assert "a.py:1:1: LL002 cannot write fixed file: Permission denied" in result.lines
    assert leftovers(tmp_path) == []
    assert "Traceback" not in result.out + result.err


# -- a fix that would break the file ---------------------------------------------------------

def test_fix_producing_invalid_code_is_not_written(tmp_path, monkeypatch):
    from leaklint.diagnostics import Applicability
    from leaklint.rule import Fix
    from leaklint.rules.sessions.ll101_yielded_session_without_finally import YieldedSessionWithoutFinally

    def broken_fix(self, fn, *args, **kwargs):
        # libcst accepts this node, and renders it as an unterminated triple-quoted string
        bad = cst.SimpleStatementLine([cst.Expr(cst.SimpleString("'''a'"))])
        return Fix("broken", Applicability.SAFE, {fn.body: fn.body.with_changes(body=[bad])})

    monkeypatch.setattr(YieldedSessionWithoutFinally, "_fix", broken_fix)
    write(tmp_path, {"a.py": LL101_SAFE, "b.py": LL103})
    result = fix(tmp_path, monkeypatch, ".")
    assert (tmp_path / "a.py").read_text() == LL101_SAFE
    assert leftovers(tmp_path) == []
    ll003 = [l for l in result.lines if " LL003 " in l]
    assert ll003 == ["a.py:1:1: LL003 a fix produced invalid code and was not applied (SyntaxError)"]
    # still reported, but no longer offered as fixable: --fix just failed on it
    assert any(l.startswith("a.py:10:5: LL101 Session") for l in result.lines)
    assert result.lines[-1] == "Found 3 problems."
    assert any(l.startswith("b.py:9:10: LL103") for l in result.lines)  # the run went on
    assert result.code == 1
    diff = invoke(["--jobs", "1", "--diff", "a.py"], tmp_path, monkeypatch)
    assert diff.out == ""


# -- bad input -------------------------------------------------------------------------------

def test_syntax_error_is_ll001_with_its_position(tmp_path, monkeypatch):
    write(tmp_path, {"bad.py": "import os\n\ndef get_db(:\n    pass\n", "eof.py": "x = (1,\n", "ok.py": LL103})
    result = invoke(["--jobs", "1", "-q", "."], tmp_path, monkeypatch)
    assert result.lines == [
        "bad.py:3:12: LL001 SyntaxError: invalid syntax",
        "eof.py:1:5: LL001 SyntaxError: '(' was never closed",
        "ok.py:9:10: LL103 Session `db` is closed only on the happy path; use `with` or close it in `finally`",
    ]
    assert result.code == 1
    fixed = invoke(["--jobs", "1", "--fix", "-q", "."], tmp_path, monkeypatch)
    assert (tmp_path / "bad.py").read_text() == "import os\n\ndef get_db(:\n    pass\n"
    assert fixed.code == 1


def test_undecodable_and_unreadable_files_are_ll002(tmp_path, monkeypatch):
    write(tmp_path, {"latin.py": b"x = '\xe9t\xe9'\n", "cookie.py": b"# -*- coding: klingon -*-\nx = 1\n",
                     "ok.py": LL103, "pkg.py/inner.py": LL103})
    os.symlink(str(tmp_path / "gone.py"), str(tmp_path / "dangling.py"))
    result = run_cli(["-q", "dangling.py", "."], tmp_path)
    assert "Traceback" not in result.out + result.err
    assert result.lines == [
        "cookie.py:1:1: LL002 cannot decode file: unknown encoding: klingon",
        "dangling.py:1:1: LL002 cannot read file: No such file or directory",
        "latin.py:1:1: LL002 cannot decode file: invalid or missing encoding declaration",
        "ok.py:9:10: LL103 Session `db` is closed only on the happy path; use `with` or close it in `finally`",
        # a folder named like a module is a folder: walked, not an unreadable file
        "pkg.py/inner.py:9:10: LL103 Session `db` is closed only on the happy path; use `with` or close it in `finally`",
    ]
    assert result.code == 1


def test_a_crashing_rule_is_one_line_and_the_run_goes_on(tmp_path, monkeypatch):
    from leaklint.rules.sessions.ll101_yielded_session_without_finally import YieldedSessionWithoutFinally

    def visit_FunctionDef(self, node):  # libcst finds visitors by their __name__
        if "boom" in self.ctx.path:
            raise RuntimeError("rule bug\nsecond line")

    monkeypatch.setattr(YieldedSessionWithoutFinally, "visit_FunctionDef", visit_FunctionDef)
    write(tmp_path, {"boom.py": LL101_SAFE, "ok.py": LL103})
    result = invoke(["--jobs", "1", "-q", "."], tmp_path, monkeypatch)
    assert result.err.splitlines() == [
        "leaklint: error: boom.py: internal error: RuntimeError: rule bug second line "
        "(set LEAKLINT_DEBUG=1 for a traceback)"]
    assert [l.split(":")[0] for l in result.lines] == ["ok.py"]
    assert result.code == 2


def test_fixes_that_never_settle_leave_the_file_alone(tmp_path, monkeypatch):
    from leaklint.diagnostics import Applicability
    from leaklint.rule import Fix
    from leaklint.rules.sessions.ll101_yielded_session_without_finally import YieldedSessionWithoutFinally

    def restless_fix(self, fn, *args, **kwargs):  # adds a line every pass; the finding never goes away
        extra = cst.parse_statement("pass")
        return Fix("restless", Applicability.SAFE, {fn.body: fn.body.with_changes(body=[*fn.body.body, extra])})

    monkeypatch.setattr(YieldedSessionWithoutFinally, "_fix", restless_fix)
    write(tmp_path, {"a.py": LL101_SAFE})
    result = fix(tmp_path, monkeypatch, "a.py")
    assert (tmp_path / "a.py").read_text() == LL101_SAFE
    assert "a.py:1:1: LL003 fixes did not converge after 10 passes; file left unchanged" in result.lines
    assert "[*]" not in result.out
    assert result.code == 1
