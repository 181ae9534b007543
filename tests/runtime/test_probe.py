"""probe() on a real FastAPI app: leaking endpoints are flagged with their site, clean ones are not."""

import os

import pytest

import ll_fixed_app
import ll_leaky_app
import ll_leaky_deps
from leaklint.runtime import probe
from leaklint.runtime.prober import ProbeError, format_table

from helpers import line_of

FAST = dict(requests=30, warmup=16, checkpoints=5)


def test_probe_flags_leaks_with_their_sites_repeatably():
    leak_line = line_of(ll_leaky_app, 'remember({"payload": bytearray(4096)})')
    dep_line = line_of(ll_leaky_deps, "self.buffer = bytearray(3000)")
    for run in range(5):
        report = probe(ll_leaky_app.app, endpoint=["GET /leak", "GET /leak-dep", "GET /clean"], **FAST)
        by_key = {r.key: r for r in report}
        assert set(by_key) == {"GET /leak", "GET /leak-dep", "GET /clean"}, run

        leak = by_key["GET /leak"]
        assert leak.leaking and leak.confidence > 0.95, (run, leak)
        assert 4096 <= leak.retained_bytes_per_request < 8192, (run, leak)
        site = leak.top_sites[0]
        assert os.path.basename(site["file"]) == "ll_leaky_app.py" and site["line"] == leak_line, (run, site)
        assert site["count_diff"] >= FAST["requests"]

        dep = by_key["GET /leak-dep"]
        assert dep.leaking and dep.confidence > 0.95, (run, dep)
        assert os.path.basename(dep.top_sites[0]["file"]) == "ll_leaky_deps.py", (run, dep.top_sites)
        assert dep.top_sites[0]["line"] == dep_line
        roles = {(c["role"], c["name"]) for c in dep.code}
        assert ("dependency", "get_session") in roles  # a yield-dependency from another module

        clean = by_key["GET /clean"]
        assert not clean.leaking, (run, clean)
        assert abs(clean.retained_bytes_per_request) < 128, (run, clean)
        assert report.leaking


def test_default_selection_is_get_routes_without_required_params():
    report = probe(ll_leaky_app.app, requests=20, warmup=6, checkpoints=4)
    by_key = {r.key: r for r in report}
    assert set(by_key) == {"GET /leak", "GET /leak-dep", "GET /clean", "GET /stream"}
    assert not by_key["GET /stream"].leaking and by_key["GET /stream"].statuses == {"200": 20}


def test_records_have_the_documented_fields():
    report = probe(ll_leaky_app.app, endpoint="GET /leak", **FAST)
    (record,) = report.to_records()
    for name in ("method", "route", "requests", "retained_bytes_per_request", "leaking", "confidence", "top_sites"):
        assert name in record
    assert set(record["top_sites"][0]) >= {"file", "line", "size_diff", "count_diff"}
    assert record["method"] == "GET" and record["route"] == "/leak" and record["requests"] == 30
    assert "GET /leak: LEAKING" in str(report)
    assert "1 of 1 endpoint(s) leaking" in format_table(report)


def test_single_endpoint_pytest_helper_style():
    uploads = [{"method": "POST", "path": "/upload", "upload": {"field": "file", "filename": "a.txt", "content": "hello"}}]
    result = probe(ll_leaky_app.app, endpoint="POST /upload", requests_file=uploads, **FAST)
    assert not result.leaking
    assert result.statuses == {"200": 30}
    assert probe(ll_leaky_app.app, endpoint="GET /leak", **FAST).leaking


def test_requests_file_routes_are_keyed_by_template(tmp_path):
    spec = tmp_path / "requests.toml"
    spec.write_text(
        '[[requests]]\nmethod = "GET"\npath = "/api/v1/items/7"\nquery = { q = "x" }\n\n'
        '[[requests]]\nmethod = "POST"\npath = "/work"\n'
    )
    report = probe(ll_leaky_app.app, requests_file=str(spec), requests=10, warmup=4, checkpoints=2)
    by_key = {r.key: r for r in report}
    assert "GET /api/v1/items/{item_id}" in by_key
    assert by_key["GET /api/v1/items/{item_id}"].statuses == {"200": 10}
    assert "POST /work" in by_key and not by_key["POST /work"].leaking


def test_fixes_stop_the_leaks_before_after():
    before = {r.key: r for r in probe(ll_leaky_app.app, endpoint="GET /leak", **FAST)}
    before.update({r.key: r for r in probe(ll_leaky_app.app, endpoint="GET /leak-dep", **FAST)})
    after = {r.key: r for r in probe(ll_fixed_app.app, **FAST)}
    figures = {k: (before[k].retained_bytes_per_request, after[k].retained_bytes_per_request) for k in before}
    print("before/after retained bytes per request:", figures)
    for key, (b, a) in figures.items():
        assert before[key].leaking and not after[key].leaking, (key, b, a)
        assert a < b / 20, (key, b, a)


@pytest.mark.parametrize(
    "endpoint, message",
    [
        ("GET /nope", "no endpoint GET /nope"),
        ("GET /api/v1/items/{item_id}", "needs parameters"),
        ("items", "must look like"),
    ],
)
def test_unusable_endpoint_is_a_probe_error(endpoint, message):
    with pytest.raises(ProbeError, match=message):
        probe(ll_leaky_app.app, endpoint=endpoint, **FAST)


def test_concrete_path_probes_its_route():
    (result,) = probe(ll_leaky_app.app, endpoint="GET /api/v1/items/3", **FAST)
    assert result.route == "/api/v1/items/{item_id}" and not result.leaking


def test_bad_requests_file_is_a_probe_error(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[[requests]]\nmethod = "GET"\npath = "/x"\nbogus = 1\n')
    with pytest.raises(ProbeError, match="unknown key"):
        probe(ll_leaky_app.app, requests_file=str(bad), **FAST)
    broken = tmp_path / "r.json"
    broken.write_text("{not json")
    with pytest.raises(ProbeError, match="not valid"):
        probe(ll_leaky_app.app, requests_file=str(broken), **FAST)


def test_failing_endpoint_is_reported_not_fatal():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/boom")
    def boom():
        raise ValueError("kaput")

    (result,) = probe(app, requests=10, warmup=4, checkpoints=2)
    assert result.statuses == {"500": 10} and "ValueError: kaput" in result.errors[0]
    assert not result.leaking  # kept tracebacks would have looked like a leak
    assert "non-2xx responses" in format_table([result])


def test_app_startup_failure_is_a_probe_error():
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    @asynccontextmanager
    async def lifespan(app):
        raise RuntimeError("database unreachable")
        yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/x")
    def x():
        return 1

    with pytest.raises(ProbeError, match="startup failed"):
        probe(app, **FAST)
