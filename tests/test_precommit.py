"""The real pre-commit runs this repository's hooks (``pre-commit try-repo``) in a scratch repo."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRE_COMMIT = shutil.which("pre-commit", path=os.path.dirname(sys.executable)) or shutil.which("pre-commit")

pytestmark = pytest.mark.skipif(PRE_COMMIT is None or shutil.which("git") is None,
                                reason="pre-commit and git are needed (installed by the test extra)")

LEAKING = textwrap.dedent('''
    from sqlalchemy.orm import Session


    def get_db(engine):
        db = Session(engine)
        yield db
        db.close()
''').lstrip()

CLEAN = textwrap.dedent('''
    from sqlalchemy.orm import Session


    def get_db(engine):
        with Session(engine) as db:
            yield db
''').lstrip()


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory):
    """One pre-commit cache for the module: the hook environment is built once (pip install)."""
    return tmp_path_factory.mktemp("pre-commit-home")


def _try_repo(repo, hook, files, home):
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run([PRE_COMMIT, "try-repo", str(ROOT), hook, "--files", *files, "--color", "never"],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture()
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "leaky.py").write_text(LEAKING)
    (tmp_path / "clean.py").write_text(CLEAN)
    _git(tmp_path, "add", ".")
    return tmp_path


def test_check_hook_fails_on_leak_and_passes_on_clean(repo, hook_home):
    bad = _try_repo(repo, "leaklint", ["leaky.py"], hook_home)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "leaky.py:6:5: LL101" in bad.stdout
    good = _try_repo(repo, "leaklint", ["clean.py"], hook_home)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


def test_fix_hook_fixes_the_file(repo, hook_home):
    result = _try_repo(repo, "leaklint-fix", ["leaky.py"], hook_home)
    # the safe fix lands (the session was already closed after the yield), nothing remains
    assert "finally:" in (repo / "leaky.py").read_text()
    assert "files were modified by this hook" in result.stdout or result.returncode == 0, result.stdout
    again = _try_repo(repo, "leaklint", ["leaky.py"], hook_home)
    assert again.returncode == 0, again.stdout
