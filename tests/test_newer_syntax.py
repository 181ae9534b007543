"""Code of a newer Python than the one running leaklint is linted like any other code.

The map phase uses the stdlib ``ast``; libcst knows every syntax up to 3.14. A module using PEP 695
generics, PEP 701 f-strings, PEP 750 t-strings or PEP 758 ``except A, B:`` must neither be skipped
nor drop its definitions out of the project facts.
"""

import ast
import textwrap

import pytest

from leaklint.runner import summarise_path
from leaklint.semantics.downgrade import downgrade, parses
from tests._infra import run_cli

NEWER = textwrap.dedent('''\
    from sqlalchemy import create_engine
    from sqlalchemy.orm import sessionmaker

    engine = create_engine("sqlite://")
    SessionLocal = sessionmaker(bind=engine)

    type Rows[T] = list[T]


    class Repo[T]:
        def label[K: str = str](self, row: dict[K, T]) -> str:
            return f"{row["name"]} {f"{row["id"]:>{len(row)}}"}"


    def report(rows):
        text = f"""
        {rows["a"]}
        {rows["b"]}
        """ f"{rows}"
        return t"{text}"


    def get_db():
        db = SessionLocal()
        try:
            pass
        except ValueError, TypeError:
            pass
        yield db
    ''')

OLDER_SPELLINGS = {
    "pep695 alias": "type X = int\n",
    "pep695 generic function": "def f[T](x: T) -> T:\n    return x\n",
    "pep695 generic class": "class C[T: int]:\n    pass\n",
    "pep701 nested quotes": 'x = {}\ny = f"{x["a"]}"\n',
    "pep701 multi-line expression": 'y = f"{\n    len([1, 2])\n}"\n',
    "pep750 t-string": 'name = 1\ny = t"hi {name}"\n',
    "pep758 bare tuple": "try:\n    pass\nexcept ValueError, TypeError:\n    pass\n",
}


def _needs_downgrade(code: str) -> bool:
    try:
        ast.parse(code)
        return False
    except SyntaxError:
        return True


@pytest.mark.parametrize("code", OLDER_SPELLINGS.values(), ids=OLDER_SPELLINGS.keys())
def test_downgraded_source_parses_and_keeps_lines(code):
    if not _needs_downgrade(code):
        pytest.skip("this interpreter's ast reads it natively")
    older = downgrade(code.encode())
    assert older is not None
    assert older.count(b"\n") == code.count("\n")
    ast.parse(older)
    assert parses(code.encode())


def test_invalid_code_is_still_invalid():
    assert downgrade(b"def f(:\n") is None
    assert not parses(b"def f(:\n")


def test_summary_of_newer_module_has_its_definitions_and_lines(tmp_path):
    path = tmp_path / "deps.py"
    path.write_text(NEWER)
    _, summary, error = summarise_path(str(path))
    assert error is None and summary is not None and summary.syntax_error is None
    assert summary.definitions["SessionLocal"].kind == "call"
    assert summary.functions["get_db"].is_generator
    assert summary.functions["get_db"].lineno == NEWER.splitlines().index("def get_db():") + 1
    assert summary.functions["Repo.label"].lineno == 11
    assert "builtins.len" in summary.called


def test_cli_reports_the_leak_in_a_newer_module(tmp_path):
    (tmp_path / "deps.py").write_text(NEWER)
    result = run_cli(["deps.py", "--select", "LL101"], tmp_path)
    assert result.code == 1, result.out + result.err
    line = NEWER.splitlines().index("    yield db") + 1
    assert f"deps.py:{line}:5: LL101" in result.out
    assert "LL001" not in result.out


def test_fix_of_a_newer_module_keeps_its_syntax_and_settles(tmp_path):
    (tmp_path / "deps.py").write_text(NEWER)
    first = run_cli(["--fix", "--unsafe-fixes", "--select", "LL101", "deps.py"], tmp_path)
    fixed = (tmp_path / "deps.py").read_text()
    assert "LL003" not in first.out, first.out
    assert "finally:\n        db.close()" in fixed
    assert "type Rows[T] = list[T]" in fixed and "except ValueError, TypeError:" in fixed
    again = run_cli(["--fix", "--unsafe-fixes", "--select", "LL101", "deps.py"], tmp_path)
    assert again.code == 0, again.out
    assert (tmp_path / "deps.py").read_text() == fixed


def test_definitions_of_a_newer_module_resolve_in_another(tmp_path):
    """The session factory lives in a PEP 695 module; the leaking dependency in an ordinary one."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "db.py").write_text(NEWER.split("type Rows")[0] + "type Id = int\n")
    (tmp_path / "app" / "deps.py").write_text(textwrap.dedent('''\
        from app.db import SessionLocal


        def get_db():
            db = SessionLocal()
            yield db
        '''))
    result = run_cli(["app", "--select", "LL101"], tmp_path)
    assert "app/deps.py:6:5: LL101" in result.out, result.out + result.err


def test_package_init_reexporting_an_unlinted_submodule_terminates(tmp_path):
    """pre-commit with one staged file: ``pkg/__init__.py`` imports from ``pkg.helper``, not linted."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from pkg.helper import helper\nfrom . import other as other\n")
    (tmp_path / "pkg" / "helper.py").write_text("def helper():\n    pass\n")
    result = run_cli(["pkg/__init__.py"], tmp_path, timeout=30)
    assert result.code == 0, result.out + result.err
    assert "All checks passed!" in result.out


def test_rewrites_for_python_39_keep_lines():
    """`match` (3.10) and `except*` (3.11) for leaklint running on 3.9: rewritten even where this ast
    could read them, so the rewrite itself is checked on every Python."""
    import libcst as cst

    from leaklint.semantics.downgrade import _Downgrader

    code = ("try:\n    pass\nexcept* (ValueError, TypeError) as group:\n    print(group)\n"
            "match command.split():\n    case [name] if name:\n        run(name)\n    case _:\n        pass\n")
    older = cst.parse_module(code).visit(_Downgrader()).code
    assert older.count("\n") == code.count("\n")
    tree = ast.parse(older)
    assert "except (ValueError, TypeError) as group:" in older
    assert any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "run" for n in ast.walk(tree))


def test_a_file_leaklint_cannot_summarise_is_never_reported_clean(tmp_path, monkeypatch):
    """Should a newer construct defeat the rewrite, the file gets LL004, not "All checks passed!"."""
    from leaklint.semantics import summary
    from tests._infra import invoke

    (tmp_path / "deps.py").write_text(NEWER)
    monkeypatch.setattr(summary, "downgrade", lambda source: None)
    result = invoke(["--jobs", "1", "deps.py"], tmp_path, monkeypatch)
    assert result.code == 1, result.out + result.err
    assert "deps.py:7:" in result.out and "LL004 not analysed: this Python" in result.out
    assert "All checks passed!" not in result.out
