"""leaklint's own autofixes make leaking endpoints stop leaking under probe (before/after figures).

A copy of apps/autofix_app.py is rewritten by the real CLI (``--fix --unsafe-fixes``); the original and
the fixed copy are imported side by side and the same endpoints are probed on both.
"""

import importlib.util
import json
import shutil
import subprocess
import sys

import autofix_app
from leaklint.runtime import probe

# The fixed cache holds 128 entries: the untraced half of the warm-up (150 distinct users) fills it and
# the traced half churns through it, so the measured requests see a full cache (see docs/runtime.md).
WARMUP = 300
REQUESTS = 150
CARD_USERS = [{"method": "GET", "path": f"/users/{i}/card"} for i in range(WARMUP + REQUESTS + WARMUP // 2 + 1)]
FAILED_ORDER = [{"method": "POST", "path": "/orders", "query": {"sku": "x-withdrawn"}}]
ENDPOINTS = {
    # endpoint: (requests file, warm-up, status every request gets, rule whose fix stops the leak)
    "GET /users/{user_id}/card": (CARD_USERS, WARMUP, "200", "LL202"),
    "POST /orders": (FAILED_ORDER, 40, "409", "LL101"),
    "GET /health": (None, 40, "200", None),
}
FIXED_CODES = {"LL202", "LL101"}


def _codes(path):
    out = subprocess.run(
        [sys.executable, "-m", "leaklint", "--isolated", "--output-format", "json", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    return sorted(d["code"] for d in json.loads(out.stdout))


def _import(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _probe_all(app):
    out = {}
    for endpoint, (requests_file, warmup, _, _) in ENDPOINTS.items():
        (out[endpoint],) = probe(app, endpoint=endpoint, requests_file=requests_file, requests=REQUESTS, warmup=warmup)
    return out


def test_autofixes_stop_the_leaks_under_probe(tmp_path):
    copy = tmp_path / "autofix_app.py"
    shutil.copyfile(autofix_app.__file__, copy)
    original = copy.read_text(encoding="utf-8")
    assert _codes(copy) == ["LL101", "LL202"]

    fixed_run = subprocess.run(
        [sys.executable, "-m", "leaklint", "--isolated", "--fix", "--unsafe-fixes", str(copy)],
        capture_output=True, text=True, timeout=60,
    )
    assert fixed_run.returncode == 0, fixed_run.stdout + fixed_run.stderr
    fixed_source = copy.read_text(encoding="utf-8")
    assert fixed_source != original
    assert "@lru_cache(maxsize=128)" in fixed_source and "finally:\n        db.close()" in fixed_source
    assert not FIXED_CODES & set(_codes(copy)), fixed_source

    fixed = _import("autofix_app_fixed", copy)
    autofix_app.render_card.cache_clear()  # a fresh cache even if this test ran before in this process
    try:
        before = _probe_all(autofix_app.app)
        after = _probe_all(fixed.app)
    finally:
        sys.modules.pop("autofix_app_fixed", None)
        autofix_app.render_card.cache_clear()

    print("\nretained bytes per request under probe, before -> after leaklint --fix --unsafe-fixes:")
    for endpoint, (_, _, status, code) in ENDPOINTS.items():
        b, a = before[endpoint], after[endpoint]
        print(f"  {endpoint:<28} {code or 'clean':<6} {b.retained_bytes_per_request:>8.1f} B (r² {b.confidence:.2f}, "
              f"{'LEAKING' if b.leaking else 'ok'}) -> {a.retained_bytes_per_request:>6.1f} B (r² {a.confidence:.2f}, "
              f"{'LEAKING' if a.leaking else 'ok'})")
        assert b.statuses == {status: REQUESTS} and a.statuses == {status: REQUESTS}, (endpoint, b.statuses, a.statuses)
        assert not a.leaking, (endpoint, a)
        assert abs(a.retained_bytes_per_request) < 128, (endpoint, a)
        if code is None:
            assert not b.leaking and abs(b.retained_bytes_per_request) < 128, (endpoint, b)
            continue
        assert b.leaking and b.confidence > 0.95, (endpoint, b)
        assert b.retained_bytes_per_request > 2048, (endpoint, b)  # each keeps a 2-3 KB payload
        assert b.retained_bytes_per_request > 20 * max(a.retained_bytes_per_request, 1), (endpoint, b, a)
        assert b.top_sites[0]["file"] == autofix_app.__file__, (endpoint, b.top_sites)
