"""Which files a run lints: suffixes, default excludes, symlinks, explicit paths, .gitignore."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from _infra import CLEAN, LL103, invoke, run_cli, write


def shown(result):
    return result.lines


def test_py_and_pyi_only(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": CLEAN, "b.pyi": "x: int\n", "c.txt": "", "d.pyc": b"\0", "e.py.bak": CLEAN,
                     "f.pyx": "", "pkg/g.py": CLEAN})
    result = invoke(["--show-files"], tmp_path, monkeypatch)
    assert shown(result) == ["a.py", "b.pyi", "pkg/g.py"]


def test_stub_files_are_linted(tmp_path, monkeypatch):
    write(tmp_path, {"db.pyi": LL103})
    result = invoke(["--jobs", "1", "-q"], tmp_path, monkeypatch)
    assert [l.split(":")[0] for l in result.lines] == ["db.pyi"]


@pytest.mark.parametrize("folder", [".git", ".venv", "venv", "build", "dist", "node_modules", "__pycache__",
                                    ".tox", ".mypy_cache", "site-packages", "pkg.egg-info"])
def test_default_excludes(tmp_path, monkeypatch, folder):
    write(tmp_path, {"app/a.py": CLEAN, f"{folder}/x.py": LL103, f"app/{folder}/y.py": LL103})
    assert shown(invoke(["--show-files"], tmp_path, monkeypatch)) == ["app/a.py"]


def test_default_excludes_are_whole_names(tmp_path, monkeypatch):
    write(tmp_path, {"builder/a.py": CLEAN, "distance.py": CLEAN, "my_venv_tools/b.py": CLEAN})
    assert shown(invoke(["--show-files"], tmp_path, monkeypatch)) == ["builder/a.py", "distance.py",
                                                                       "my_venv_tools/b.py"]


def test_symlinked_directories_are_never_followed(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    write(outside, {"secret.py": LL103})
    root = tmp_path / "root"
    write(root, {"pkg/a.py": CLEAN})
    os.symlink(str(outside), str(root / "pkg" / "linked"))        # out of the root
    os.symlink(str(root), str(root / "pkg" / "loop"))             # a loop
    os.symlink(str(root / "pkg"), str(root / "pkg_alias"))        # inside, but a second way in
    os.symlink(str(outside), str(root / "linked.py"))             # a directory link named like a file
    result = invoke(["--show-files"], root, monkeypatch)
    assert shown(result) == ["pkg/a.py"]
    assert result.code == 0 and result.err == ""


def test_symlinked_file_outside_the_root_is_skipped(tmp_path, monkeypatch):
    write(tmp_path / "outside", {"o.py": LL103})
    root = tmp_path / "root"
    write(root, {"pkg/a.py": LL103})
    os.symlink(str(tmp_path / "outside" / "o.py"), str(root / "pkg" / "out_link.py"))
    os.symlink(str(root / "pkg" / "a.py"), str(root / "pkg" / "in_link.py"))
    os.symlink(str(root / "nowhere.py"), str(root / "pkg" / "broken_link.py"))
    # in_link.py points at a.py, which is linted once (under its real name)
    assert shown(invoke(["--show-files"], root, monkeypatch)) == ["pkg/a.py"]
    assert "o.py" in os.listdir(str(tmp_path / "outside"))  # and nothing was touched there


def test_explicit_excluded_path_is_linted_unless_force_exclude(tmp_path, monkeypatch):
    write(tmp_path, {"build/gen.py": LL103, "app/a.py": LL103, "pyproject.toml": '[tool.leaklint]\nextend-exclude = ["legacy"]\n',
                     "legacy/old.py": LL103, "legacy/deep/older.py": LL103})
    explicit = ["build/gen.py", "legacy/deep/older.py", "legacy", "app/a.py"]
    result = invoke(["--show-files", *explicit], tmp_path, monkeypatch)
    assert shown(result) == ["app/a.py", "build/gen.py", "legacy/deep/older.py", "legacy/old.py"]
    forced = invoke(["--show-files", "--force-exclude", *explicit], tmp_path, monkeypatch)
    assert shown(forced) == ["app/a.py"]
    lint = invoke(["--jobs", "1", "-q", "--force-exclude", *explicit], tmp_path, monkeypatch)
    assert [l.split(":")[0] for l in lint.lines] == ["app/a.py"]


def test_missing_path_is_one_line_and_the_run_goes_on(tmp_path, monkeypatch):
    write(tmp_path, {"a.py": LL103})
    result = invoke(["--jobs", "1", "-q", "gone.py", "a.py", "also/gone"], tmp_path, monkeypatch)
    assert result.err.splitlines() == ["leaklint: error: gone.py: no such file or directory",
                                       "leaklint: error: also/gone: no such file or directory"]
    assert [l.split(":")[0] for l in result.lines] == ["a.py"]
    assert result.code == 2
    # with nothing else wrong the same run exits 1 (findings), so the 2 came from the missing paths
    assert invoke(["--jobs", "1", "-q", "a.py"], tmp_path, monkeypatch).code == 1
    show = invoke(["--show-files", "gone.py", "a.py"], tmp_path, monkeypatch)
    assert (show.lines, show.code) == (["a.py"], 2)
    assert invoke(["--diff", "gone.py", "a.py"], tmp_path, monkeypatch).code == 2
    assert invoke(["--diff", "a.py"], tmp_path, monkeypatch).code == 0


def test_same_file_twice_is_linted_once(tmp_path, monkeypatch):
    write(tmp_path, {"pkg/a.py": LL103})
    result = invoke(["--jobs", "1", "-q", "pkg", "pkg/a.py", "./pkg/a.py"], tmp_path, monkeypatch)
    assert len(result.lines) == 1


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitignore_is_respected_in_a_git_repository(tmp_path, monkeypatch):
    write(tmp_path, {".gitignore": "generated/\n*_pb2.py\n!keep_pb2.py\n", "app/a.py": LL103,
                     "generated/g.py": LL103, "app/api_pb2.py": LL103, "app/keep_pb2.py": LL103,
                     "app/sub/.gitignore": "local.py\n", "app/sub/local.py": LL103, "app/sub/other.py": LL103})
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = run_cli(["--show-files"], tmp_path)  # once through the real process
    assert result.lines == ["app/a.py", "app/keep_pb2.py", "app/sub/other.py"]
    lint = invoke(["--jobs", "1", "-q"], tmp_path, monkeypatch)
    assert sorted({l.split(":")[0] for l in lint.lines}) == ["app/a.py", "app/keep_pb2.py", "app/sub/other.py"]
    # named explicitly, an ignored file is linted (as with excludes); --no-respect-gitignore walks all
    every = invoke(["--show-files", "--no-respect-gitignore"], tmp_path, monkeypatch)
    assert len(every.lines) == 6 and "generated/g.py" in every.lines
    assert invoke(["--show-files", "app/api_pb2.py"], tmp_path, monkeypatch).lines == ["app/api_pb2.py"]


def test_gitignore_outside_a_git_repository_is_not_special(tmp_path, monkeypatch):
    write(tmp_path, {".gitignore": "*.py\n", "a.py": CLEAN})
    if subprocess.run(["git", "-C", str(tmp_path), "rev-parse"], capture_output=True).returncode == 0:
        pytest.skip("tmp_path is inside a git repository")
    assert shown(invoke(["--show-files"], tmp_path, monkeypatch)) == ["a.py"]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_gitignore_with_folders_from_two_places(tmp_path, monkeypatch):
    repo, other = tmp_path / "repo", tmp_path / "other"
    write(repo, {".gitignore": "gen_*.py\n", "a.py": CLEAN, "gen_x.py": CLEAN})
    write(other, {"b.py": CLEAN})
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    result = invoke(["--show-files", ".", str(other)], repo, monkeypatch)
    assert result.lines == sorted(["a.py", str(other / "b.py")])


def test_vendored_copies_are_excluded_by_default(tmp_path, monkeypatch):
    write(tmp_path, {"app/a.py": LL103, "app/thirdparty/model.py": LL103, "app/third_party/x.py": LL103,
                     "app/_vendor/y.py": LL103, "app/vendor/accounts.py": LL103})
    # `vendor` is also an ordinary name for an application's own package: it stays linted
    assert shown(invoke(["--show-files"], tmp_path, monkeypatch)) == ["app/a.py", "app/vendor/accounts.py"]
    write(tmp_path, {"pyproject.toml": '[tool.leaklint]\nexclude = [".git"]\n'})
    assert len(shown(invoke(["--show-files"], tmp_path, monkeypatch))) == 5
