"""The result cache (.leaklint_cache/): layout, invalidation by content, config and dependency,
corrupt entries, two concurrent runs, and whole-project facts for files named on the command line."""

import os
import pickle
import subprocess
import sys
import textwrap

import pytest

from _infra import DB, write
from leaklint.cache import Cache, build_id
from leaklint.config import Settings, load
from leaklint.discovery import discover
from leaklint.engine import FixOptions
from leaklint.registry import select
from leaklint.runner import run

DEPS = textwrap.dedent('''\
    from app.db import SessionLocal


    def get_db():
        db = SessionLocal()
        yield db
        db.close()
    ''')
ROUTES = textwrap.dedent('''\
    from fastapi import APIRouter, Depends

    from app.deps import get_db

    router = APIRouter()


    @router.get("/items")
    def items(db=Depends(get_db)):
        return db.query(1).all()
    ''')
OTHER = textwrap.dedent('''\
    import asyncio


    async def tick():
        asyncio.create_task(asyncio.sleep(1))
    ''')
NOT_A_SESSION = "def SessionLocal():\n    return object()\n"


@pytest.fixture()
def project(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\n", "app/__init__.py": "", "app/db.py": DB,
                     "app/deps.py": DEPS, "app/routes.py": ROUTES, "app/other.py": OTHER})
    return tmp_path


def _run(root, cache=True, ignore=(), paths=None):
    """One in-process run of every file under ``root``: (findings, cache statistics)."""
    settings = load(str(root / "pyproject.toml"))
    files = discover([str(root)], str(root), settings.all_excludes, respect_gitignore=False).files
    store = Cache.open(str(root / ".leaklint_cache")) if cache else None
    result = run(files, settings, select([], [], list(ignore)), FixOptions(), jobs=1, write=False,
                 roots=[str(root)], cache=store, report=paths)
    found = sorted((os.path.relpath(d.filename, root), d.start.row, d.code, d.message)
                   for r in result.results for d in r.diagnostics)
    return found, (store.stats if store is not None else None)


def _checked(stats):
    return stats[("results", "miss")]


def test_the_cache_folder_is_tagged_and_ignored(project):
    found, stats = _run(project)
    folder = project / ".leaklint_cache"
    assert (folder / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    assert (folder / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (folder / build_id() / "summaries").is_dir() and (folder / build_id() / "results").is_dir()
    assert stats[("summaries", "miss")] == 5 and _checked(stats) == 5
    assert [f[2] for f in found] == ["LL101", "LL401"]


def test_a_warm_run_reads_every_result_and_reports_the_same(project):
    cold, _ = _run(project, cache=False)
    first, _ = _run(project)
    warm, stats = _run(project)
    assert cold == first == warm
    assert stats[("summaries", "hit")] == 5 and stats[("results", "hit")] == 5
    assert _checked(stats) == 0 and stats[("summaries", "miss")] == 0


def test_a_changed_file_is_checked_again_alone(project):
    _run(project)
    (project / "app" / "other.py").write_text(OTHER + "\n\nasync def tock():\n    asyncio.create_task(asyncio.sleep(2))\n")
    found, stats = _run(project)
    assert stats[("summaries", "miss")] == 1 and _checked(stats) == 1
    assert [f[2] for f in found] == ["LL101", "LL401", "LL401"]


def test_a_dependency_change_rechecks_its_importers_and_nothing_else(project):
    _run(project)
    (project / "app" / "db.py").write_text(DB + "\n# the pool is configured in settings.py\n")
    found, stats = _run(project)
    # db.py itself and deps.py (which imports it); not routes.py (imports deps) nor other.py
    assert stats[("summaries", "miss")] == 1 and _checked(stats) == 2
    assert [f[2] for f in found] == ["LL101", "LL401"]


def test_a_dependency_change_that_changes_findings_is_seen(project):
    _run(project)
    (project / "app" / "db.py").write_text(NOT_A_SESSION)
    found, _ = _run(project)
    cold, _ = _run(project, cache=False)
    assert found == cold
    assert [f[2] for f in found] == ["LL401"]  # get_db no longer yields a session


def test_a_config_change_rechecks_but_keeps_the_summaries(project):
    _run(project)
    found, stats = _run(project, ignore=["LL4"])
    assert stats[("summaries", "hit")] == 5 and _checked(stats) == 5
    assert [f[2] for f in found] == ["LL101"]


def test_a_corrupt_entry_is_ignored_and_rewritten(project):
    expected, _ = _run(project)
    entries = [os.path.join(d, f) for d, _, fs in os.walk(project / ".leaklint_cache" / build_id()) for f in fs]
    assert entries
    for i, path in enumerate(entries):
        with open(path, "wb") as handle:
            handle.write(b"" if i % 2 else b"\x80\x05not a pickle")
    found, stats = _run(project)
    assert found == expected
    assert stats[("summaries", "miss")] == 5 and _checked(stats) == 5
    for path in entries:
        with open(path, "rb") as handle:
            pickle.load(handle)  # rewritten whole
    _, stats = _run(project)
    assert _checked(stats) == 0


def _cli(root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "leaklint", "--jobs", "2", *args], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "LEAKLINT_CACHE_STATS": "1", **(env or {})}, timeout=300)


def test_two_concurrent_runs_share_the_cache_safely(tmp_path):
    files = {"pyproject.toml": "[tool.leaklint]\n", "app/__init__.py": "", "app/db.py": DB}
    for i in range(24):  # enough files for both runs to use worker processes
        files[f"app/deps_{i}.py"] = DEPS.replace("get_db", f"get_db_{i}")
    write(tmp_path, files)
    expected = _cli(tmp_path, "--no-cache", ".")
    assert expected.returncode == 1 and expected.stdout.count("LL101") == 24
    assert not (tmp_path / ".leaklint_cache").exists()
    runs = [subprocess.Popen([sys.executable, "-m", "leaklint", "--jobs", "2", "."], cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [1, 1]
    assert [out for out, _ in outputs] == [expected.stdout] * 2
    warm = _cli(tmp_path, ".")
    assert warm.stdout == expected.stdout
    assert "summaries 26 hit / 0 miss, results 26 hit / 0 miss" in warm.stderr
    leftovers = [f for d, _, fs in os.walk(tmp_path / ".leaklint_cache") for f in fs if f.startswith(".tmp-")]
    assert leftovers == []


def test_no_cache_and_cache_dir(tmp_path):
    write(tmp_path, {"pyproject.toml": '[tool.leaklint]\ncache-dir = "build/lint-cache"\n', "db.py": DB})
    assert _cli(tmp_path, "--no-cache", ".").returncode == 0
    assert not (tmp_path / "build").exists() and not (tmp_path / ".leaklint_cache").exists()
    assert _cli(tmp_path, ".").returncode == 0
    assert (tmp_path / "build" / "lint-cache" / "CACHEDIR.TAG").is_file()
    assert _cli(tmp_path, "--cache-dir", str(tmp_path / "elsewhere"), ".").returncode == 0
    assert (tmp_path / "elsewhere" / "CACHEDIR.TAG").is_file()


def test_a_bad_cache_dir_setting_is_one_line(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\ncache-dir = 3\n", "db.py": DB})
    result = _cli(tmp_path, ".")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"leaklint: error: {tmp_path / 'pyproject.toml'}: 'tool.leaklint.cache-dir': expected a path (a non-empty string)"]


def test_an_unwritable_cache_does_not_stop_the_run(tmp_path):
    write(tmp_path, {"db.py": DB, "blocker": "a file where the cache folder would go"})
    result = _cli(tmp_path, "--cache-dir", "blocker/cache", ".")
    assert result.returncode == 0 and "error" not in result.stderr


def test_named_files_get_facts_from_the_whole_project(project):
    """pre-commit passes the staged files: deps.py alone still knows what SessionLocal is."""
    named = _cli(project, "app/deps.py", env={"LEAKLINT_CACHE_STATS": ""})
    assert named.returncode == 1
    assert named.stdout.splitlines()[0].startswith("app/deps.py:6:5: LL101 ")
    assert "other.py" not in named.stdout  # findings only for the named file
    alone = _cli(project, "--isolated", "app/deps.py")
    assert alone.returncode == 0  # without the project, SessionLocal is unknown
    warm = _cli(project, "app/deps.py")
    assert warm.stdout == named.stdout
    assert "summaries 5 hit / 0 miss, results 1 hit / 0 miss" in warm.stderr


def test_settings_keys_are_validated():
    from leaklint.config import ConfigError, from_table

    assert from_table({"cache-dir": ".c", "baseline": "b.json"}, "p.toml", "tool.leaklint").baseline == "b.json"
    with pytest.raises(ConfigError, match="'tool.leaklint.baseline': expected a path"):
        from_table({"baseline": ""}, "p.toml", "tool.leaklint")
    assert Settings().cache_dir is None


def test_a_cached_result_takes_the_name_this_run_gives_the_file(project):
    first = _cli(project, "app")
    (project / "sub").mkdir()
    again = _cli(project / "sub", "../app")
    assert "results 0 hit" not in again.stderr
    assert again.stdout == first.stdout.replace("app/", "../app/")


def test_a_caller_elsewhere_changing_what_it_passes_is_seen(tmp_path):
    """LL202 in ``cards.py`` depends on what ``routes.py`` passes: literals bound the cache, request
    data does not. The callee's file did not change; its cached result must not be reused."""
    cards = "from functools import cache\n\n\n@cache\ndef card(name):\n    return {'name': name}\n"
    route = "from fastapi import FastAPI\nfrom app.cards import card\n\napp = FastAPI()\n\n\n@app.get('/h')\n"
    literal = route + "def home():\n    return card('home')\n"
    traffic = route + "def home(name: str):\n    return card(name)\n"
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\n", "app/__init__.py": "", "app/cards.py": cards,
                     "app/routes.py": literal})
    assert [f[2] for f in _run(tmp_path)[0]] == []
    (tmp_path / "app" / "routes.py").write_text(traffic)
    found, _ = _run(tmp_path)
    assert found == _run(tmp_path, cache=False)[0]
    assert [(f[0], f[2]) for f in found] == [(os.path.join("app", "cards.py"), "LL202")]


def test_a_subclass_elsewhere_overriding_a_class_constant_is_seen(tmp_path):
    """LL201 in ``manager.py`` keys on ``job.kind``, one value per job class while every class binds
    it in its body; a subclass in a module ``manager.py`` never imports starts setting it per
    instance. Neither ``manager.py`` nor what it imports changed; its cached result must not be reused."""
    jobs = "class Job:\n    kind = 'base'\n"
    export = "from app.jobs import Job\n\n\nclass ExportJob(Job):\n    kind = 'export'\n"
    manager = ("from fastapi import FastAPI\nfrom app.jobs import Job\n\napp = FastAPI()\n_current = {}\n\n\n"
               "def start(job: Job):\n    _current[job.kind] = job\n\n\n@app.post('/j')\ndef run():\n    start(Job())\n")
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\n", "app/__init__.py": "", "app/jobs.py": jobs,
                     "app/export.py": export, "app/manager.py": manager})
    assert _run(tmp_path)[0] == []
    (tmp_path / "app" / "export.py").write_text(
        export + "\n    def __init__(self, owner):\n        self.kind = owner\n")
    found, _ = _run(tmp_path)
    assert found == _run(tmp_path, cache=False)[0]
    assert [(f[0], f[2]) for f in found] == [(os.path.join("app", "manager.py"), "LL201")]


def test_another_module_making_a_held_class_per_call_is_seen(tmp_path):
    """LL204 in ``memo.py``: ``Memo`` lives for the process because only the module-level ``Service``
    makes one, in its ``__init__``. Another module starting to make a ``Memo`` of its own changes
    that, though ``memo.py`` and what it imports did not change."""
    memo = "class Memo:\n    def __init__(self):\n        self.seen = {}\n\n    def add(self, key):\n" \
           "        self.seen[key] = 1\n"
    service = "from app.memo import Memo\n\n\nclass Service:\n    def __init__(self):\n        self.memo = Memo()\n\n" \
              "    def handle(self, key):\n        self.memo.add(key)\n\n\nservice = Service()\n"
    routes = "from fastapi import FastAPI\nfrom app.service import service\n\napp = FastAPI()\n\n\n" \
             "@app.get('/k/{key}')\ndef k(key: str):\n    service.handle(key)\n"
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\n", "app/__init__.py": "", "app/memo.py": memo,
                     "app/service.py": service, "app/routes.py": routes})
    assert [(f[0], f[2]) for f in _run(tmp_path)[0]] == [(os.path.join("app", "memo.py"), "LL204")]
    (tmp_path / "app" / "service.py").write_text(service + "\n\ndef spare():\n    return Memo()\n")
    found, _ = _run(tmp_path)
    assert found == _run(tmp_path, cache=False)[0] == []
