"""watch(app, resources=True): task/fd/thread/pool counters per sample, and their growth in `leaklint report`.

The apps are driven for real: in-process through httpx's ASGITransport on a running loop, and by uvicorn
serving on a loopback port in a thread of this process (so the sampler must hand the task count over to the
server's loop thread).
"""

import asyncio
import json
import os
import threading
import time

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from sqlalchemy import create_engine, text

from leaklint.runtime import watch
from leaklint.runtime.commands import report_command
from leaklint.runtime.log import read_records

import live_server

MIN_SAMPLES = 10
MIN_REQUESTS = 60


class ResourceApp:
    """A FastAPI app whose GET /work keeps (leak=True) or gives back a task, a descriptor and a pool checkout."""

    def __init__(self, tmp_path, leak):
        self.leak = leak
        self.engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}", pool_size=200, max_overflow=0)
        self.kept_tasks, self.kept_fds, self.kept_connections = set(), [], []
        self.app = FastAPI()
        self.app.get("/work")(self.work)

    async def work(self):
        if self.leak:
            self.kept_tasks.add(asyncio.create_task(asyncio.sleep(3600)))
            self.kept_fds.append(os.open(os.devnull, os.O_RDONLY))
            connection = self.engine.connect()
            connection.execute(text("select 1"))
            self.kept_connections.append(connection)
        else:
            await asyncio.create_task(asyncio.sleep(0))
            with open(os.devnull, "rb") as fh:
                fh.read(1)
            with self.engine.connect() as connection:
                connection.execute(text("select 1"))
        return {"ok": True}

    def release(self):
        for task in self.kept_tasks:
            if not task.get_loop().is_closed():  # a closed loop dropped its tasks already
                task.cancel()
        self.kept_tasks.clear()
        for fd in self.kept_fds:
            os.close(fd)
        self.kept_fds.clear()
        for connection in self.kept_connections:
            connection.close()
        self.kept_connections.clear()
        self.engine.dispose()


def drive_in_process(watched):
    """Requests through ASGITransport until the watcher took enough samples; shutdown on the loop thread."""

    async def main():
        transport = httpx.ASGITransport(app=watched)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            while watched._requests < MIN_REQUESTS or watched._samples < MIN_SAMPLES:
                response = await client.get("/work")
                assert response.status_code == 200
                await asyncio.sleep(0.003)
        watched.shutdown()

    asyncio.run(main())


async def cancel_all(tasks):
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()


def report_json(log):
    result = CliRunner().invoke(report_command, [str(log), "--output-format", "json"])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return json.loads(result.output)


def trends_by_name(log):
    return {row["name"]: row for row in report_json(log)["resource_trends"]}


@pytest.fixture
def leaky(tmp_path):
    app = ResourceApp(tmp_path, leak=True)
    yield app
    app.release()


@pytest.fixture
def clean(tmp_path):
    app = ResourceApp(tmp_path, leak=False)
    yield app
    app.release()


def test_samples_carry_the_counters(tmp_path, leaky):
    log = tmp_path / "watch.jsonl"
    drive_in_process(watch(leaky.app, log_path=log, interval_seconds=0.02, resources=True, print_summary=False))
    records = list(read_records(log))
    assert records[0]["type"] == "start" and records[0]["resources"] is True
    samples = [r for r in records if r["type"] == "sample"]
    assert len(samples) >= MIN_SAMPLES and "error" not in {r["type"] for r in records}
    for sample in samples:
        assert {"tasks", "fds", "threads", "pool_checkouts"} <= set(sample["resources"])
    last = samples[-1]  # the final sample, taken after the last request
    assert last["final"] and last["requests"] == len(leaky.kept_tasks)
    assert last["resources"]["pool_checkouts"] == len(leaky.kept_connections)
    # the kept tasks and asyncio.run's main task: the count is read on the served loop, so it is exact
    assert last["resources"]["tasks"] == len(leaky.kept_tasks) + 1


def test_report_flags_the_leaking_counters(tmp_path, leaky):
    log = tmp_path / "watch.jsonl"
    drive_in_process(watch(leaky.app, log_path=log, interval_seconds=0.02, resources=True, print_summary=False))
    trends = trends_by_name(log)
    samples = [r for r in read_records(log) if r["type"] == "sample"]
    served = samples[-1]["requests"] - samples[0]["requests"]
    # one task, one pool checkout and two descriptors (os.open + sqlite's file) per request
    for name, per_request in (("tasks", 1), ("pool_checkouts", 1), ("fds", 2)):
        row = trends[name]
        assert row["steady_growth"], row
        assert row["per_1000_requests"] == pytest.approx(1000 * per_request, rel=0.05), row
        assert row["r2_requests"] > 0.99 and row["per_hour"] > 0, row
        # within a few: a sample can fall inside a request, and other tests' sockets come and go (xdist)
        assert abs(row["net"] - served * per_request) <= 3, (row, served)
    assert not trends["threads"]["steady_growth"], trends["threads"]

    text_out = CliRunner().invoke(report_command, [str(log), "--html", str(tmp_path / "r.html")]).output
    lines = {line.split()[0]: line for line in text_out.splitlines() if line.startswith("  ") and line.split()}
    assert "STEADY GROWTH" in lines["tasks"] and "STEADY GROWTH" in lines["fds"], text_out
    assert "STEADY GROWTH" not in lines["threads"], text_out
    html = (tmp_path / "r.html").read_text()
    assert "<h2>Resource counters over time</h2>" in html
    # tasks, fds, pool_checkouts, and RSS when the kept objects cost more than 16 KB per request
    assert html.count('<span class="leak">steady growth</span>') == sum(row["steady_growth"] for row in trends.values())
    assert "<polyline" in html.split("<h2>Resource counters over time</h2>")[1].split("</table>")[0]


def test_clean_app_shows_no_growth(tmp_path, clean):
    log = tmp_path / "watch.jsonl"
    drive_in_process(watch(clean.app, log_path=log, interval_seconds=0.02, resources=True, print_summary=False))
    trends = trends_by_name(log)
    assert {"tasks", "fds", "threads", "pool_checkouts", "rss_bytes"} <= set(trends)
    flagged = [name for name, row in trends.items() if row["steady_growth"]]
    assert flagged == [], trends
    # a sample taken while a request's short task runs counts it; descriptors also move with other tests' sockets
    for name in ("tasks", "pool_checkouts"):
        assert trends[name]["net"] <= 0 and trends[name]["max"] - trends[name]["min"] <= 1, trends[name]
    assert trends["tasks"]["last"] == 1  # asyncio.run's main task
    text_out = CliRunner().invoke(report_command, [str(log)]).output
    assert "resource counters over the run" in text_out and "STEADY GROWTH" not in text_out


def test_default_off_adds_nothing(tmp_path, clean):
    log = tmp_path / "watch.jsonl"
    drive_in_process(watch(clean.app, log_path=log, interval_seconds=0.02, print_summary=False))
    samples = [r for r in read_records(log) if r["type"] == "sample"]
    assert samples and not any("resources" in s for s in samples)
    data = report_json(log)
    assert data["resource_trends"] == []
    assert "resource counters" not in CliRunner().invoke(report_command, [str(log)]).output


def test_busy_loop_leaves_the_task_count_out_without_stalling(tmp_path, clean):
    """A loop that does not answer within the wait gives no task count for that sample; the rest is sampled."""
    log = tmp_path / "watch.jsonl"
    watched = watch(clean.app, log_path=log, interval_seconds=0.05, resources=True, print_summary=False)

    async def main():
        transport = httpx.ASGITransport(app=watched)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            await client.get("/work")
            before = watched._samples
            time.sleep(1.5)  # blocks the loop thread: the sampler's hand-over waits 0.25 s, then moves on
            assert watched._samples >= before + 3
            await client.get("/work")
        watched.shutdown()

    asyncio.run(main())
    samples = [r for r in read_records(log) if r["type"] == "sample"]
    assert watched._resources.unanswered >= 3
    without_tasks = [s for s in samples if "tasks" not in s["resources"]]
    assert len(without_tasks) >= 3 and all("fds" in s["resources"] for s in without_tasks)
    assert "tasks" in samples[-1]["resources"]  # the final sample runs on the loop thread itself


def test_real_uvicorn_leaking_app(tmp_path, leaky):
    live_server.require_module("uvicorn")
    import uvicorn

    log = tmp_path / "watch.jsonl"
    watched = watch(leaky.app, log_path=log, interval_seconds=0.02, resources=True, print_summary=False)
    port = live_server.free_port()
    server = uvicorn.Server(uvicorn.Config(watched, host=live_server.HOST, port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://{live_server.HOST}:{port}") as client:
            while watched._requests < MIN_REQUESTS or watched._samples < MIN_SAMPLES:
                assert client.get("/work").status_code == 200
    finally:
        server.should_exit = True
        thread.join(30)
    assert not thread.is_alive()
    records = list(read_records(log))
    assert records[-1]["type"] == "summary"  # lifespan shutdown wrote it
    trends = trends_by_name(log)
    assert trends["tasks"]["steady_growth"] and trends["tasks"]["per_1000_requests"] == pytest.approx(1000, rel=0.05)
    assert trends["pool_checkouts"]["steady_growth"] and trends["fds"]["steady_growth"]
    # a loop that is busy for more than the wait (0.25 s) may leave a sample's count out; rarely, on a loaded machine
    assert watched._resources.unanswered <= 2


def test_loop_between_run_until_complete_calls(tmp_path, leaky):
    """A loop that is not running at sample time (driven call by call) is counted directly; lifespan still works."""
    from helpers import Recorder

    log = tmp_path / "watch.jsonl"
    watched = watch(leaky.app, log_path=log, interval_seconds=0.02, resources=True, print_summary=False)
    with Recorder(watched) as rec:
        while watched._requests < MIN_REQUESTS or watched._samples < MIN_SAMPLES:
            rec.request("GET", "/work")
            time.sleep(0.002)
        kept = len(leaky.kept_tasks)
        watched.shutdown()  # from this thread while the loop is stopped: its tasks are counted directly
        rec.loop.run_until_complete(cancel_all(leaky.kept_tasks))
    records = list(read_records(log))
    assert records[-1]["type"] == "summary" and "error" not in {r["type"] for r in records}
    # the kept tasks and the lifespan task
    assert [r for r in records if r["type"] == "sample"][-1]["resources"]["tasks"] == kept + 1
    assert trends_by_name(log)["tasks"]["steady_growth"]


def test_rss_alert_record(tmp_path):
    """The alert record (built in watch_records) still names the threshold and the top endpoints."""
    kept = []

    async def work(scope, receive, send):  # keeps 256 KiB of touched pages per request: RSS must grow
        kept.append(bytearray(b"x" * (256 * 1024)))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    log = tmp_path / "watch.jsonl"
    drive_in_process(watch(work, log_path=log, interval_seconds=0.02, growth_threshold_mb=0.001, print_summary=False))
    alerts = [r for r in read_records(log) if r["type"] == "alert"]
    assert alerts, "RSS grew by more than 1 KB: at least one alert"
    assert alerts[0]["threshold_mb"] == 0.001 and alerts[0]["rss_growth"] >= 1024
    assert alerts[0]["message"].startswith("RSS grew ") and alerts[0]["top_endpoints"] in ([], ["UNMATCHED"])


def test_a_warm_up_step_is_not_steady_growth(tmp_path):
    """A thread pool that fills once, halfway through, is a step (r² 0.75), not growth; one thread per sample is."""
    log = tmp_path / "watch.jsonl"
    records = [{"type": "start", "ts": 0.0, "level": "basic", "growth_threshold_mb": 50.0, "resources": True}]
    for i in range(20):
        resources = {"tasks": 3, "fds": 10 + i, "threads": 1 if i < 10 else 40, "pool_checkouts": 0}
        records.append({"type": "sample", "ts": 5.0 * i, "rss": 50 << 20, "requests": 100 * i, "resources": resources})
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    trends = trends_by_name(log)
    assert trends["threads"]["net"] == 39 and trends["threads"]["r2_time"] == pytest.approx(0.752, abs=0.001)
    assert not trends["threads"]["steady_growth"]
    assert trends["fds"]["steady_growth"] and trends["fds"]["per_1000_requests"] == pytest.approx(10.0)
    assert trends["fds"]["per_hour"] == pytest.approx(720.0)  # one every 5 s
    assert not trends["tasks"]["steady_growth"] and not trends["rss_bytes"]["steady_growth"]
