"""watch() on a real FastAPI app: valid log, correct summary, untouched responses, failure isolation."""

import io
import json

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

import ll_leaky_app
from leaklint.runtime import WatchMiddleware, watch
from leaklint.runtime.log import JsonlLog, log_files, read_records
from leaklint.runtime.summary import format_summary

from helpers import Recorder

TRAFFIC = [
    ("GET", "/leak", 6),
    ("GET", "/clean", 5),
    ("GET", "/stream", 3),
    ("GET", "/api/v1/items/1", 2),
    ("GET", "/api/v1/items/2", 2),
    ("GET", "/does-not-exist", 2),
    ("POST", "/work", 2),
]


def drive(app):
    with Recorder(app) as rec:
        out = []
        for method, path, n in TRAFFIC:
            for _ in range(n):
                out.append(rec.request(method, path))
    return out


def strip_volatile(messages):
    """Everything the app sent, minus the Date header that changes every second."""
    cleaned = []
    for m in messages:
        m = dict(m)
        if "headers" in m:
            m["headers"] = [(k, v) for k, v in m["headers"] if k.lower() != b"date"]
        cleaned.append(m)
    return cleaned


@pytest.mark.parametrize("level", ["basic", "allocations", "traces"])
def test_watch_writes_valid_log_and_correct_summary(tmp_path, level):
    log = tmp_path / "watch.jsonl"
    out = io.StringIO()
    app = watch(ll_leaky_app.app, log_path=log, level=level, interval_seconds=0.05, summary_stream=out)
    drive(app)

    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    types = [r["type"] for r in records]
    assert types[0] == "start" and types[-1] == "summary"
    assert types.count("sample") >= 2 and "error" not in types
    samples = [r for r in records if r["type"] == "sample"]
    assert all(isinstance(s["rss"], int) and s["rss"] > 0 for s in samples)
    assert all({"counts", "collections"} <= set(s["gc"]) for s in samples)
    if level != "basic":
        assert all("traced" in s and "top_sites" in s for s in samples)
        site = samples[-1]["top_sites"][0]
        assert {"file", "line", "size", "count"} <= set(site)
        if level == "traces":
            assert any("traceback" in s for s in samples[-1]["top_sites"])

    summary = records[-1]
    assert summary["level"] == level and summary["requests"] == sum(n for _, _, n in TRAFFIC)
    rss = summary["rss"]
    assert rss["baseline"] > 0 and rss["peak"] >= rss["final"] > 0
    assert rss["net_growth"] == rss["final"] - rss["baseline"]
    calls = {e["key"]: e["calls"] for e in summary["endpoints"]}
    assert calls == {
        "GET /leak": 6,
        "GET /clean": 5,
        "GET /stream": 3,
        "GET /api/v1/items/{item_id}": 4,  # the template, not the raw paths
        "UNMATCHED": 2,
        "POST /work": 2,
    }
    leak = next(e for e in summary["endpoints"] if e["key"] == "GET /leak")
    assert {"mean", "stdev", "min", "max", "total"} <= set(leak["delta"]) and leak["ms"]["count"] == 6
    assert any(c["role"] == "handler" and c["name"] == "leak" for c in leak["code"])

    text = out.getvalue()
    assert text.strip() == format_summary(summary)
    assert "GET /api/v1/items/{item_id}" in text and "RSS baseline" in text


def test_responses_are_byte_identical_with_and_without_watcher(tmp_path):
    plain = drive(ll_leaky_app.app)
    before = ll_leaky_app.BACKGROUND_DONE["count"]
    watched = drive(watch(ll_leaky_app.app, log_path=tmp_path / "w.jsonl", level="traces", interval_seconds=0.05,
                          print_summary=False))
    assert ll_leaky_app.BACKGROUND_DONE["count"] == before + 2  # background tasks still run
    # /leak reports a growing counter; compare the rest message by message, chunk by chunk.
    for a, b in zip(plain, watched):
        a, b = strip_volatile(a), strip_volatile(b)
        if a[-1].get("body", b"").startswith(b'{"n":'):
            assert [m["type"] for m in a] == [m["type"] for m in b]
            continue
        assert a == b
    stream = [m for m in watched if any(b"chunk 0" in x.get("body", b"") for x in m)][0]
    assert [m["body"] for m in stream[1:]] == [f"chunk {i}\n".encode() for i in range(5)] + [b""]


class ExplodingSampler:
    def __init__(self, fail_start=False):
        self.calls = 0
        self.fail_start = fail_start

    def start(self):
        if self.fail_start:
            raise RuntimeError("cannot start")

    def stop(self):
        pass

    def sample(self):
        self.calls += 1
        raise RuntimeError("sampler exploded")


@pytest.mark.parametrize("fail_start", [False, True])
def test_failing_sampler_does_not_break_requests(tmp_path, fail_start, caplog):
    sampler = ExplodingSampler(fail_start)
    log = tmp_path / "w.jsonl"
    app = watch(ll_leaky_app.app, log_path=log, interval_seconds=0.02, sampler=sampler, print_summary=False)
    with Recorder(app) as rec:
        for _ in range(10):
            sent = rec.request("GET", "/clean")
            assert sent[0]["status"] == 200 and b"sum" in sent[1]["body"]
        import time

        time.sleep(0.1)  # several failing ticks
    assert sampler.calls >= 2
    errors = [r for r in read_records(log) if r["type"] == "error"]
    assert len([e for e in errors if e["where"] == "sample"]) == 1  # logged once
    assert len([r for r in caplog.records if "sample failed" in r.getMessage()]) == 1
    summary = [r for r in read_records(log) if r["type"] == "summary"][-1]
    assert summary["requests"] == 10 and summary["watcher_errors"]


def test_add_middleware_one_liner(tmp_path):
    app = FastAPI()

    @app.get("/hello/{name}")
    def hello(name: str):
        return {"hi": name}

    app.add_middleware(WatchMiddleware, log_path=str(tmp_path / "w.jsonl"), interval_seconds=0.05, print_summary=False)
    with Recorder(app) as rec:
        assert rec.request("GET", "/hello/x")[0]["status"] == 200
        rec.request("GET", "/hello/y")
    summary = [r for r in read_records(tmp_path / "w.jsonl") if r["type"] == "summary"][-1]
    assert {e["key"]: e["calls"] for e in summary["endpoints"]} == {"GET /hello/{name}": 2}


def test_mounted_routes_and_unknown_methods_stay_bounded(tmp_path):
    async def item(request):
        return PlainTextResponse("ok")

    inner = Starlette(routes=[Route("/items/{item_id}", item)])
    app = Starlette(routes=[Mount("/shop", app=inner)])
    watched = watch(app, log_path=tmp_path / "w.jsonl", interval_seconds=0.05, print_summary=False)
    with Recorder(watched) as rec:
        for i in range(5):
            assert rec.request("GET", f"/shop/items/{i}")[-1]["body"] == b"ok"
        rec.request("BREW", "/shop/items/1")
    summary = watched.summary
    keys = {e["key"]: e["calls"] for e in summary["endpoints"]}
    assert keys == {"GET /shop/items/{item_id}": 5, "OTHER /shop/items/{item_id}": 1}


def test_disabled_returns_the_app_unchanged():
    assert watch(ll_leaky_app.app, enabled=False) is ll_leaky_app.app


def test_log_rotation_is_bounded_and_readable(tmp_path):
    path = tmp_path / "r.jsonl"
    log = JsonlLog(path, max_bytes=2048, backups=2)
    for i in range(200):
        log.write([{"type": "sample", "i": i, "pad": "x" * 40}])
    log.close()
    files = log_files(path)
    assert len(files) == 3 and all(f.stat().st_size <= 2048 for f in files)
    seen = [r["i"] for r in read_records(path)]
    assert seen == sorted(seen) and seen[-1] == 199  # oldest first, newest kept
