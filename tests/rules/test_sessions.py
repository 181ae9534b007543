"""LL1 through the real CLI on realistic fixtures: exact findings, fixes, a second pass, imports."""

import shutil
import subprocess
import sys

from _cli import ROOT, findings, runner

FIXTURES = ROOT / "fixtures" / "LL1"


leaklint = runner()


def test_bad_fixture_findings():
    result = leaklint(FIXTURES / "sessions_bad.py")
    assert result.returncode == 1, result.stderr
    assert findings(result.stdout) == [
        ("sessions_bad.py", 21, "LL101"),  # get_db: close after yield only
        ("sessions_bad.py", 28, "LL101"),  # async: rollback in except, no finally
        ("sessions_bad.py", 35, "LL102"),  # SQLModel session returned from a dependency
        ("sessions_bad.py", 41, "LL101"),  # @contextmanager without finally
        ("sessions_bad.py", 47, "LL103"),  # engine.connect() never closed
        ("sessions_bad.py", 54, "LL104"),  # engine per request
    ]


def test_ok_fixture_is_clean():
    result = leaklint(FIXTURES / "sessions_ok.py")
    assert result.returncode == 0, result.stdout
    assert "All checks passed!" in result.stdout


def test_cross_module_dependency_and_reexport():
    result = leaklint("crossmodule", cwd=FIXTURES)
    assert findings(result.stdout) == [("deps.py", 6, "LL101"), ("deps.py", 10, "LL102")], result.stdout
    # linted alone, deps.py cannot know routes.py uses get_reader as a dependency: no LL102 guess
    alone = leaklint("crossmodule/shop/deps.py", "crossmodule/shop/__init__.py", "crossmodule/shop/database.py",
                     cwd=FIXTURES)
    assert findings(alone.stdout) == [("deps.py", 6, "LL101")], alone.stdout


def _fix_copy(tmp_path, name):
    target = tmp_path / name
    if (FIXTURES / name).is_dir():
        shutil.copytree(FIXTURES / name, target)
    else:
        shutil.copy(FIXTURES / name, target)
    return target


def test_fix_matches_expected_and_is_stable(tmp_path):
    target = _fix_copy(tmp_path, "sessions_bad.py")
    first = leaklint("--fix", "--unsafe-fixes", target)
    assert first.returncode == 1  # LL103 and LL104 have no automatic fix and remain
    assert target.read_text() == (FIXTURES / "sessions_bad.fixed.py").read_text()
    compile(target.read_text(), str(target), "exec")
    second = leaklint("--fix", "--unsafe-fixes", target)
    assert target.read_text() == (FIXTURES / "sessions_bad.fixed.py").read_text()
    assert findings(second.stdout) == [("sessions_bad.py", 55, "LL103"), ("sessions_bad.py", 62, "LL104")]


def test_safe_fix_only_applies_safe(tmp_path):
    target = _fix_copy(tmp_path, "sessions_bad.py")
    result = leaklint("--fix", target)
    text = target.read_text()
    assert "    try:\n        yield db\n    finally:\n        db.close()\n" in text  # LL101 with existing close: safe
    assert "await session.close()" not in text  # LL101 adding a close: unsafe, not applied
    assert "1 fixed" in result.stdout


def test_cross_module_fix_imports_and_runs(tmp_path):
    project = _fix_copy(tmp_path, "crossmodule")
    leaklint("--fix", "--unsafe-fixes", ".", cwd=project)
    for name in ("deps.py", "routes.py", "__init__.py", "database.py"):
        expected = (FIXTURES / "crossmodule.fixed" / "shop" / name).read_text()
        assert (project / "shop" / name).read_text() == expected, name
    # the fixed dependencies work in a real FastAPI app: sessions are opened and closed per request
    script = (
        "from fastapi import FastAPI\n"
        "from fastapi.testclient import TestClient\n"
        "from shop.routes import router\n"
        "closed = []\n"
        "import sqlalchemy.orm as orm\n"
        "original_close = orm.Session.close\n"
        "def close(self):\n    closed.append(self)\n    return original_close(self)\n"
        "orm.Session.close = close\n"
        "app = FastAPI(); app.include_router(router)\n"
        "client = TestClient(app)\n"
        "for _ in range(3):\n    assert client.get('/orders').status_code == 200\n"
        "print(len(closed))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.strip().splitlines()[-1]) == 6  # two sessions per request, all closed


def test_resources_whose_life_spreads_over_modules():
    """A service whose sessions, engines and clients come from helpers, factories, classes and middleware."""
    result = leaklint("ownership", cwd=FIXTURES)
    assert result.returncode == 1, result.stderr
    assert findings(result.stdout) == [
        ("app.py", 15, "LL105"),  # a route declared inside the app factory
        ("jobs.py", 6, "LL103"),  # next(generate_session()) outside FastAPI
        ("jobs.py", 12, "LL103"),  # a borrowing helper does not take the session over
        ("middleware.py", 8, "LL103"),  # request.state.db closed after call_next without finally
        ("routes.py", 15, "LL105"),  # a client from another module's helper, in a helper the route calls
        ("store.py", 6, "LL104"),  # Store.__init__ reached from GET /items through get_store()
    ], result.stdout
    assert "(GET /items -> `get_store()` -> `Store.__init__()`)" in result.stdout
    assert "(GET /proxy -> `fetch_json()`)" in result.stdout


def test_client_fixes_wrap_the_rest_of_the_body_and_settle(tmp_path):
    target = _fix_copy(tmp_path, "ownership")
    first = leaklint("--fix", "--unsafe-fixes", ".", cwd=target)
    assert first.returncode == 1, first.stdout + first.stderr
    routes = (target / "svc" / "routes.py").read_text()
    assert 'async with make_client("https://api.example.org") as client:\n        response = await client.get(url)\n' \
           '        return response.json()\n' in routes
    assert "    with httpx.Client() as client:\n" in (target / "svc" / "app.py").read_text()
    assert ("jobs.py", 6, "LL103") in findings(first.stdout) and not any(
        code == "LL105" for _, _, code in findings(first.stdout))
    before = {p: p.read_bytes() for p in target.rglob("*.py")}
    leaklint("--fix", "--unsafe-fixes", ".", cwd=target)
    assert {p: p.read_bytes() for p in target.rglob("*.py")} == before
