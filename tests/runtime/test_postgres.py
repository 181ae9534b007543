"""Proof on a real PostgreSQL server: a get_db without finally holds server connections when requests fail,
probe sees it as pool checkouts, and leaklint's own fix makes both go away.

.ci/run starts a throwaway cluster (.ci/postgres.sh) and exports LEAKLINT_PG_DSN. Without it the tests
skip with the reason, except in CI (CI=true), where a missing server is a failure.
"""

import gc
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from leaklint.runtime.driver import AsgiDriver, RequestSpec

DSN = os.environ.get("LEAKLINT_PG_DSN")
APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")
FAILING = 8  # failing requests while the collector is off

if not DSN:
    if os.environ.get("CI") == "true":
        raise RuntimeError("LEAKLINT_PG_DSN is not set in CI: .ci/run should have started PostgreSQL (.ci/postgres.sh)")
    pytest.skip(
        "no PostgreSQL: set LEAKLINT_PG_DSN, or `source .ci/postgres.sh && leaklint_pg_start` first", allow_module_level=True
    )

psycopg = pytest.importorskip("psycopg", reason="psycopg is in the test extra")


def _server_connections(app_name):
    """(all, idle in transaction) server connections opened by the module named app_name."""
    with psycopg.connect(DSN, autocommit=True) as conn:
        rows = conn.execute(
            "select state from pg_stat_activity where application_name = %s", (app_name,)
        ).fetchall()
    return len(rows), sum(1 for (state,) in rows if state == "idle in transaction")


def _codes(path):
    out = subprocess.run(
        [sys.executable, "-m", "leaklint", "--isolated", "--output-format", "json", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    return sorted(d["code"] for d in json.loads(out.stdout))


def _import(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _held_after_failing_requests(module):
    """Server connections after FAILING requests that answer 404, before any garbage collection."""
    driver = AsgiDriver(module.app)
    driver.startup()
    gc.collect()
    gc.disable()
    try:
        statuses = {driver.request(RequestSpec("GET", f"/accounts/{1000 + i}")).status for i in range(FAILING)}
        held = _server_connections(module.__name__)
    finally:
        gc.enable()
        gc.collect()
        driver.shutdown()
        module.engine.dispose()
    assert statuses == {404}
    return held


def _probe_cli(app_dir, module_name):
    requests_file = os.path.join(app_dir, "requests.json")
    with open(requests_file, "w", encoding="utf-8") as fh:
        json.dump([{"path": "/accounts/1", "error_path": True}], fh)
    run = subprocess.run(
        [sys.executable, "-m", "leaklint", "probe", f"{module_name}:app", "--app-dir", app_dir,
         "--requests-file", requests_file, "--requests", "60", "--warmup", "10", "--output-format", "json"],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, LEAKLINT_PG_DSN=DSN),
    )
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, {r["mode"]: r for r in json.loads(run.stdout)["results"]}


@pytest.fixture
def leaky_and_fixed(tmp_path, request):
    # Module names double as the server's application_name: unique per test, since the
    # tests may run at the same time (xdist) and count their own connections only.
    tag = re.sub(r"\W", "_", request.node.name)[-40:]
    before_dir, after_dir = tmp_path / "before", tmp_path / "after"
    before_dir.mkdir()
    after_dir.mkdir()
    leaky_path = before_dir / f"ll_pg_leaky_{tag}.py"
    fixed_path = after_dir / f"ll_pg_fixed_{tag}.py"
    shutil.copyfile(os.path.join(APPS, "ll_pg_app.py"), leaky_path)
    shutil.copyfile(os.path.join(APPS, "ll_pg_app.py"), fixed_path)
    fix = subprocess.run(
        [sys.executable, "-m", "leaklint", "--isolated", "--fix", "--unsafe-fixes", str(fixed_path)],
        capture_output=True, text=True, timeout=60,
    )
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert "finally:\n        db.close()" in fixed_path.read_text(encoding="utf-8")
    yield leaky_path, fixed_path
    for path in (leaky_path, fixed_path):
        module = sys.modules.pop(path.stem, None)
        if module is not None:
            module.engine.dispose()


def test_failing_requests_hold_server_connections_until_fixed(leaky_and_fixed):
    leaky_path, fixed_path = leaky_and_fixed
    assert _codes(leaky_path) == ["LL101"] and _codes(fixed_path) == []
    leaky = _import(leaky_path.stem, leaky_path)
    fixed = _import(fixed_path.stem, fixed_path)
    held_leaky = _held_after_failing_requests(leaky)
    held_fixed = _held_after_failing_requests(fixed)
    print(f"\npg_stat_activity after {FAILING} failing requests (connections, idle in transaction): "
          f"leaky {held_leaky}, fixed {held_fixed}")
    assert held_leaky == (FAILING, FAILING)  # one server connection per failed request, each in a transaction
    assert held_fixed == (1, 0)  # one pooled connection, reused and returned every time
    assert _server_connections(leaky_path.stem)[1] == 0  # the collector did give them back in the end


def test_probe_error_paths_reports_pool_checkouts_until_fixed(leaky_and_fixed):
    leaky_path, fixed_path = leaky_and_fixed
    rc_leaky, leaky = _probe_cli(str(leaky_path.parent), leaky_path.stem)
    rc_fixed, fixed = _probe_cli(str(fixed_path.parent), fixed_path.stem)
    print("\npool checkouts per request under probe (slope, r²), before -> after leaklint --fix --unsafe-fixes:")
    for mode in ("normal", "error"):
        b, a = leaky[mode], fixed[mode]
        print(f"  GET /accounts/{{account_id}} {mode:<6} {b['resources']['pool_checkouts']} "
              f"({b['resource_confidence']['pool_checkouts']}) -> {a['resources']['pool_checkouts']} "
              f"({a['resource_confidence']['pool_checkouts']})")
    assert rc_leaky == 1
    assert leaky["error"]["leaking_resources"] == ["pool_checkouts"] and leaky["error"]["leaking"]
    assert leaky["error"]["resources"]["pool_checkouts"] == pytest.approx(1.0)
    assert leaky["error"]["resource_confidence"]["pool_checkouts"] > 0.99
    assert leaky["normal"]["leaking_resources"] == [] and leaky["normal"]["resources"]["pool_checkouts"] == 0
    for mode in ("normal", "error"):
        assert fixed[mode]["resources"]["pool_checkouts"] == 0 and fixed[mode]["leaking_resources"] == [], fixed[mode]
        assert fixed[mode]["statuses"] == {("500" if mode == "error" else "200"): 60}
