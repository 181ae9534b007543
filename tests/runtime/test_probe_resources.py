"""probe's resource counters: each leaking endpoint grows exactly its resource, each clean twin grows none."""

import json
import subprocess
import sys
import time

import pytest

import ll_pool_app
import ll_resource_app
from leaklint.runtime import counters, probe
from leaklint.runtime.prober import ProbeError, format_table
from leaklint.runtime.resources import RESOURCE_NAMES

from conftest import APPS

FAST = dict(requests=40, warmup=10, checkpoints=5)
# endpoint -> the one resource it leaks (None: clean)
EXPECTED = {
    "GET /tasks/leak": "tasks",
    "GET /fds/leak": "fds",
    "GET /threads/leak": "threads",
    "GET /native/leak": "rss_bytes",
    "GET /tasks/clean": None,
    "GET /fds/clean": None,
    "GET /threads/clean": None,
    "GET /native/clean": None,
}


@pytest.fixture
def resource_app():
    yield ll_resource_app.app
    ll_resource_app.release()


def test_each_counter_flags_its_leak_and_only_it(resource_app):
    report = probe(resource_app, endpoint=list(EXPECTED), **FAST)
    by_key = {r.key: r for r in report}
    print("\nresource growth per request (slope, r²):")
    for key, resource in EXPECTED.items():
        r = by_key[key]
        print(f"  {key:<20} " + ", ".join(f"{n}={r.resources[n]} ({r.resource_confidence[n]})" for n in RESOURCE_NAMES))
        assert r.statuses == {"200": FAST["requests"]}, (key, r.statuses)
        if resource is None:
            assert r.leaking_resources == [] and not r.leaking, (key, r)
            continue
        assert r.leaking_resources == [resource], (key, r.leaking_resources, r.resources)
        assert r.leaking and r.resource_confidence[resource] > 0.95, (key, r)
        if resource == "rss_bytes":
            assert r.native_growth and not r.leaking_bytes, r
            assert 0.9 * 65536 <= r.resources["rss_bytes"] <= 1.3 * 65536, r.resources
        else:
            assert r.resources[resource] == pytest.approx(1.0, abs=0.05), (key, r.resources)
            assert len(r.resource_samples[resource]) == FAST["checkpoints"] + 1
    assert not by_key["GET /fds/leak"].leaking_bytes  # a bare descriptor is not traced memory
    table = format_table(report)
    assert "grows: fds +1.00/request" in table and "grows: native memory (RSS)" in table


def test_contextvar_left_set_is_reported(resource_app):
    report = probe(resource_app, endpoint=["GET /contextvar/leak", "GET /contextvar/clean"], **FAST)
    by_key = {r.key: r for r in report}
    leak, clean = by_key["GET /contextvar/leak"], by_key["GET /contextvar/clean"]
    assert leak.context_vars == ["ll_resource_app.CURRENT_USER"] and leak.leaking, leak
    assert clean.context_vars == [] and not clean.leaking, clean
    assert "ContextVar left set: ll_resource_app.CURRENT_USER" in str(report)


def test_error_paths_leak_pool_checkouts_only_without_finally():
    report = probe(ll_pool_app.app, endpoint=["GET /me", "GET /me/fixed"], error_paths=True, **FAST)
    by_key = {r.key: r for r in report}
    assert set(by_key) == {"GET /me", "GET /me [error]", "GET /me/fixed", "GET /me/fixed [error]"}
    for key, r in by_key.items():
        mode = "error" if key.endswith("[error]") else "normal"
        assert r.mode == mode and r.statuses == {("500" if mode == "error" else "200"): FAST["requests"]}, (key, r)
    failing = by_key["GET /me [error]"]
    print("\npool checkouts per request:", {k: (r.resources["pool_checkouts"], r.resource_confidence["pool_checkouts"]) for k, r in by_key.items()})
    assert failing.leaking_resources == ["pool_checkouts"] and failing.leaking, failing
    assert failing.resources["pool_checkouts"] == pytest.approx(1.0) and failing.resource_confidence["pool_checkouts"] > 0.99
    for key in ("GET /me", "GET /me/fixed", "GET /me/fixed [error]"):
        assert by_key[key].resources["pool_checkouts"] == 0 and not by_key[key].leaking_resources, (key, by_key[key])
    assert ll_pool_app.engine.pool.checkedout() == 0  # the probe's collections gave every connection back


def test_requests_file_entry_asks_for_the_error_path(tmp_path):
    spec = tmp_path / "r.toml"
    spec.write_text('[[requests]]\nmethod = "GET"\npath = "/me"\nerror_path = true\n\n[[requests]]\npath = "/me/fixed"\n')
    report = probe(ll_pool_app.app, requests_file=str(spec), endpoint=["GET /me", "GET /me/fixed"], **FAST)
    assert sorted(r.key for r in report) == ["GET /me", "GET /me [error]", "GET /me/fixed"]
    assert [r.key for r in report if r.leaking_resources] == ["GET /me [error]"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[[requests]]\npath = "/me"\nerror_path = "yes"\n')
    with pytest.raises(ProbeError, match="'error_path' must be true or false"):
        probe(ll_pool_app.app, requests_file=str(bad), **FAST)


def test_exhausted_pool_ends_the_endpoint_quickly_with_a_message():
    started = time.monotonic()
    try:
        (result,) = probe(ll_pool_app.app, endpoint="GET /hold", pool_timeout=0.5, **FAST)
    finally:
        ll_pool_app.release()
    assert time.monotonic() - started < 15
    assert result.leaking and result.leaking_resources == ["pool_checkouts"], result
    assert result.errors[0].startswith("pool exhausted") and "QueuePool limit" in result.errors[0]
    assert "the pool ran dry" in format_table([result])
    assert ll_pool_app.small_engine.pool._timeout == 30  # the app's own timeout is back


def test_unavailable_counter_is_none_not_zero(monkeypatch, resource_app):
    monkeypatch.setattr(counters, "open_fds", lambda: None)
    (result,) = probe(resource_app, endpoint="GET /fds/leak", **FAST)
    assert result.resources["fds"] is None and result.resource_confidence["fds"] is None
    assert result.unavailable == ["fds"] and "fds" not in result.leaking_resources
    assert "unavailable here (not measured): fds" in format_table([result])


def test_bytes_only_and_unknown_resource_names(resource_app):
    (result,) = probe(resource_app, endpoint="GET /fds/leak", resources=False, **FAST)
    assert not result.leaking and set(result.unavailable) == set(RESOURCE_NAMES)
    (result,) = probe(resource_app, endpoint="GET /fds/leak", resources=["fds"], resource_thresholds={"fds": 2}, **FAST)
    assert result.resources["fds"] == pytest.approx(1.0) and not result.leaking  # under its threshold
    with pytest.raises(ProbeError, match="unknown resource 'sockets'"):
        probe(resource_app, resources=["sockets"], **FAST)


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "leaklint", "probe", *args, "--app-dir", APPS, "--requests", "30", "--warmup", "10"],
        capture_output=True, text=True, timeout=300,
    )


def test_cli_json_has_modes_resources_and_leaking_resources():
    run = _cli("ll_pool_app:app", "--endpoint", "GET /me", "--error-paths", "--output-format", "json")
    assert run.returncode == 1, run.stderr
    records = {(r["route"], r["mode"]): r for r in json.loads(run.stdout)["results"]}
    assert set(records) == {("/me", "normal"), ("/me", "error")}
    for record in records.values():
        assert set(record["resources"]) == set(RESOURCE_NAMES)
        assert {"leaking_resources", "resource_confidence", "native_growth", "context_vars", "leaking_bytes"} <= set(record)
    assert records[("/me", "error")]["leaking_resources"] == ["pool_checkouts"] and records[("/me", "error")]["leaking"]
    assert records[("/me", "normal")]["leaking_resources"] == []


def test_report_joins_a_pool_checkout_leak_to_the_ll1_finding(tmp_path):
    probe_json, html_out = tmp_path / "probe.json", tmp_path / "report.html"
    run = _cli("ll_pool_app:app", "--endpoint", "GET /me", "--error-paths", "--output-format", "json", "-o", str(probe_json))
    assert run.returncode == 1, run.stderr
    report = subprocess.run(
        [sys.executable, "-m", "leaklint", "report", str(probe_json), "--static", ll_pool_app.__file__, "--html", str(html_out)],
        capture_output=True, text=True, timeout=120,
    )
    assert report.returncode == 0, report.stderr
    line = next(n for n, text in enumerate(open(ll_pool_app.__file__), 1) if "yield db  # LL101" in text)
    assert "grows: pool_checkouts +1.00/request" in report.stdout
    assert f"ll_pool_app.py:{line} in dependency get_db" in report.stdout and "[explains pool_checkouts]" in report.stdout
    sentence = next(s for s in report.stdout.splitlines() if s.startswith("GET /me [error] retains"))
    assert sentence.endswith(f"leaks pool_checkouts +1.00/request; its dependency get_db has LL101 at ll_pool_app.py:{line} (pool_checkouts)")
    html = html_out.read_text(encoding="utf-8")
    assert "grows: pool_checkouts +1.00/request" in html and "explains pool_checkouts" in html


def test_cli_bad_resource_options_are_one_line_errors():
    for args, message in (
        (("--resources", "sockets"), "--resources: unknown counter 'sockets'"),
        (("--resource-threshold", "fds"), "--resource-threshold must look like NAME=NUMBER"),
    ):
        run = _cli("ll_pool_app:app", *args)
        assert run.returncode == 2 and run.stderr.strip().startswith(f"error: {message}"), run.stderr
        assert "Traceback" not in run.stderr
