"""watch(app, metrics=True): Prometheus metrics in one process and summed across gunicorn workers."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import ll_leaky_app
import live_server
from helpers import Recorder
from leaklint.runtime import metrics_app, watch
from leaklint.runtime.metrics import METRIC_NAMES

DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs")


def samples(text, name):
    """{(labels...): value} of one metric family's samples named ``name``."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name:
                out[tuple(sorted(s.labels.items()))] = s.value
    return out


def by_route(text, name, **fixed):
    """{route: value} for samples of ``name`` whose other labels equal ``fixed``."""
    found = {}
    for labels, value in samples(text, name).items():
        d = dict(labels)
        if all(d.get(k) == v for k, v in fixed.items()):
            found[(d.get("method"), d.get("route"))] = value
    return found


def test_per_endpoint_counts_with_bounded_labels():
    registry = CollectorRegistry()
    app = watch(ll_leaky_app.app, log_path=os.devnull, level="allocations", interval_seconds=0.05,
                metrics=True, metrics_registry=registry, print_summary=False, max_endpoints=5)
    traffic = [("GET", "/leak", 7), ("GET", "/clean", 4), ("GET", "/api/v1/items/1", 2), ("GET", "/api/v1/items/2", 3),
               ("GET", "/nope/1", 2), ("GET", "/nope/2", 1), ("BREW", "/clean", 2), ("GET", "/stream", 2)]
    with Recorder(app) as rec:
        for method, path, n in traffic:
            for _ in range(n):
                rec.request(method, path)
        time.sleep(0.3)  # a few sampler ticks set the process gauges
        text = generate_latest(registry).decode()
    counts = by_route(text, "leaklint_requests_total")
    assert counts == {
        ("GET", "/leak"): 7,
        ("GET", "/clean"): 4,
        ("GET", "/api/v1/items/{item_id}"): 5,  # path parameters collapse into the template
        ("GET", "UNMATCHED"): 3,  # every unmatched path shares one label value
        ("OTHER", "/clean"): 2,  # unknown methods fold into OTHER
        ("GET", "OTHER"): 2,  # past max_endpoints (5 keys) a new template folds into OTHER
    }
    hist_counts = by_route(text, "leaklint_request_memory_delta_bytes_count")
    assert hist_counts == counts
    gauges = {name: list(samples(text, name).values()) for name in METRIC_NAMES[2:]}
    assert gauges["leaklint_process_rss_bytes"][0] > 10 * 1024 * 1024
    assert gauges["leaklint_traced_memory_bytes"][0] > 0
    assert gauges["leaklint_open_fds"][0] >= 3
    assert gauges["leaklint_gc_objects"][0] > 1000
    assert gauges["leaklint_threads"][0] >= 2  # the main thread and the sampler
    assert gauges["leaklint_asyncio_tasks"][0] >= 1  # the lifespan task at least


def test_basic_level_has_no_traced_gauge_and_two_watchers_share_a_registry():
    registry = CollectorRegistry()

    async def hello(request):
        return PlainTextResponse("hi")

    inner = Starlette(routes=[Route("/hello", hello)])
    first = watch(inner, log_path=os.devnull, interval_seconds=0.05, metrics=True, metrics_registry=registry,
                  print_summary=False)
    second = watch(inner, log_path=os.devnull, interval_seconds=0.05, metrics=True, metrics_registry=registry,
                   print_summary=False)
    for app in (first, second):
        with Recorder(app) as rec:
            assert rec.request("GET", "/hello")[1]["body"] == b"hi"
            time.sleep(0.15)
    text = generate_latest(registry).decode()
    assert by_route(text, "leaklint_requests_total") == {("GET", "/hello"): 2}
    assert samples(text, "leaklint_traced_memory_bytes") == {}
    assert list(samples(text, "leaklint_process_rss_bytes").values())[0] > 0


def test_metrics_app_serves_the_registry_and_accepts_lifespan():
    registry = CollectorRegistry()
    app = watch(ll_leaky_app.app, log_path=os.devnull, metrics=True, metrics_registry=registry, print_summary=False)
    with Recorder(app) as rec:
        rec.request("GET", "/clean")
    with Recorder(metrics_app(registry)) as rec:  # lifespan startup/shutdown complete
        sent = rec.request("GET", "/metrics")
    assert sent[0]["status"] == 200
    content_type = {k.lower(): v for k, v in sent[0]["headers"]}[b"content-type"].decode()
    assert content_type.startswith("text/plain")
    assert by_route(sent[1]["body"].decode(), "leaklint_requests_total") == {("GET", "/clean"): 1}


def test_metrics_path_is_served_by_the_watcher_and_not_counted():
    registry = CollectorRegistry()
    app = watch(ll_leaky_app.app, log_path=os.devnull, metrics=True, metrics_registry=registry,
                metrics_path="/metrics", print_summary=False)
    with Recorder(app) as rec:
        rec.request("GET", "/clean")
        first = rec.request("GET", "/metrics")
        second = rec.request("GET", "/metrics")
    assert first[0]["status"] == second[0]["status"] == 200
    assert by_route(second[1]["body"].decode(), "leaklint_requests_total") == {("GET", "/clean"): 1}


def test_missing_prometheus_client_is_one_clear_message():
    script = (
        "import sys; sys.modules['prometheus_client'] = None\n"
        "from leaklint.runtime import watch\n"
        "from starlette.applications import Starlette\n"
        "try:\n"
        "    watch(Starlette(), metrics=True)\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env=live_server.server_env())
    assert out.stdout.strip() == "watch(app, metrics=True) needs prometheus_client: pip install 'leaklint[metrics]'"


def _exprs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield value
            else:
                yield from _exprs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _exprs(item)


def test_grafana_dashboard_and_alert_rules_use_our_metric_names():
    known = set(METRIC_NAMES) | {f"leaklint_request_memory_delta_bytes_{s}" for s in ("bucket", "count")}
    with open(os.path.join(DOCS, "grafana-dashboard.json"), encoding="utf-8") as fh:
        dashboard = json.load(fh)
    with open(os.path.join(DOCS, "prometheus-alerts.yml"), encoding="utf-8") as fh:
        rules = yaml.safe_load(fh)
    panel_exprs = list(_exprs(dashboard["panels"]))
    alert_exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    assert len(panel_exprs) >= 5 and len(alert_exprs) >= 3
    used = set()
    for expr in panel_exprs + alert_exprs:
        names = set(re.findall(r"\bleaklint_[a-z_]+", expr))
        assert names, expr
        assert names <= known, (expr, names - known)
        used |= names
    # every metric the watcher exports is shown or alerted on somewhere
    assert set(METRIC_NAMES) - {"leaklint_request_memory_delta_bytes"} <= used
    assert all(r["labels"]["severity"] and r["annotations"]["summary"] for g in rules["groups"] for r in g["rules"])


def test_gunicorn_two_workers_one_scrape_sums_both(tmp_path):
    live_server.require_module("gunicorn")
    prom_dir = tmp_path / "prom"
    prom_dir.mkdir()
    port = live_server.free_port()
    env = live_server.server_env(PROMETHEUS_MULTIPROC_DIR=prom_dir, LL_WATCH_LOG_DIR=tmp_path)
    args = [live_server.python(), "-W", "ignore::DeprecationWarning", "-m", "gunicorn", "-c", "ll_gunicorn_conf.py",
            "-w", "2", "-k", "uvicorn.workers.UvicornWorker", "-b", f"{live_server.HOST}:{port}", "ll_metrics_app:app"]
    proc = live_server.start(args, env, tmp_path / "gunicorn.log")
    base = f"http://{live_server.HOST}:{port}"
    try:
        live_server.wait_ready(port, proc)
        sent = {"/leak": 0, "/clean": 0}
        pids = {"/leak": set(), "/clean": set()}
        lock = threading.Lock()

        def client(path, n):
            # a new connection per request, so that both workers accept some
            for _ in range(n):
                r = httpx.get(base + path, timeout=20)
                assert r.status_code == 200, r.text
                with lock:
                    sent[path] += 1
                    pids[path].add(r.json()["pid"])

        deadline = time.monotonic() + 90
        while (len(pids["/leak"]) < 2 or len(pids["/clean"]) < 2) and time.monotonic() < deadline:
            # One endpoint at a time: a worker's heap is shared, so a /clean running beside a /leak
            # would show the leak's allocation in its own delta.
            for path in ("/leak", "/clean"):
                threads = [threading.Thread(target=client, args=(path, 25)) for _ in range(3)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        assert len(pids["/leak"]) == 2 and len(pids["/clean"]) == 2, pids
        time.sleep(1.2)  # the sampler threads set the process gauges every second
        text = httpx.get(base + "/metrics", timeout=20).text
        # A worker that exits leaves the gauges (the child_exit hook), its counts stay in the sums.
        gone = sorted(pids["/leak"])[0]
        os.kill(gone, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while True:
            after = httpx.get(base + "/metrics", timeout=20).text
            live = {dict(k).get("pid") for k in samples(after, "leaklint_process_rss_bytes")}
            if str(gone) not in live and len(live) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    finally:
        live_server.stop(proc)
    log = (tmp_path / "gunicorn.log").read_text(errors="replace")
    counts = by_route(text, "leaklint_requests_total")
    assert counts == {("GET", "/leak"): sent["/leak"], ("GET", "/clean"): sent["/clean"]}, log  # scrapes not counted

    def share_above(route, bound="262144.0"):
        buckets = samples(text, "leaklint_request_memory_delta_bytes_bucket")
        at = {dict(k)["le"]: v for k, v in buckets.items() if dict(k)["route"] == route}
        return 1 - at[bound] / at["+Inf"], at["+Inf"]

    leak_share, leak_n = share_above("/leak")
    clean_share, clean_n = share_above("/clean")
    print(f"\nshare of requests above 256 KiB: /leak {leak_share:.2f} of {leak_n}, /clean {clean_share:.2f} of {clean_n}")
    assert (leak_n, clean_n) == (sent["/leak"], sent["/clean"])
    # each /leak keeps 256 KiB: nearly all its deltas lie above 256 KiB, nearly none of /clean's
    assert leak_share >= 0.9 and clean_share <= 0.1, (leak_share, clean_share)
    rss_pids = {dict(k).get("pid") for k in samples(text, "leaklint_process_rss_bytes")}
    assert len(rss_pids) == 2 and None not in rss_pids  # one live series per worker
    traced = samples(text, "leaklint_traced_memory_bytes").values()
    assert sum(traced) >= sent["/leak"] * 256 * 1024 * 0.9  # the two workers hold what /leak kept
    assert str(gone) not in live and len(live) == 2, (gone, live)  # the dead worker's gauges left, a new one came
    assert by_route(after, "leaklint_requests_total")[("GET", "/leak")] == sent["/leak"]


def _promtool():
    found = shutil.which("promtool")
    live_server.require(found, "promtool is not installed (apt-get install prometheus)")
    return found


def test_promtool_accepts_the_alert_rules_and_every_dashboard_query(tmp_path):
    promtool = _promtool()
    alerts = os.path.join(DOCS, "prometheus-alerts.yml")
    out = subprocess.run([promtool, "check", "rules", alerts], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    # Grafana's queries, as recording rules, so that promtool parses each of them as PromQL.
    with open(os.path.join(DOCS, "grafana-dashboard.json"), encoding="utf-8") as fh:
        exprs = list(_exprs(json.load(fh)["panels"]))
    rules = {"groups": [{"name": "grafana", "rules": [
        {"record": f"leaklint:panel_{i}", "expr": e.replace("$__rate_interval", "5m").replace('"$job"', '".*"')}
        for i, e in enumerate(exprs)]}]}
    recorded = tmp_path / "grafana-queries.yml"
    recorded.write_text(yaml.safe_dump(rules))
    out = subprocess.run([promtool, "check", "rules", str(recorded)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"SUCCESS: {len(exprs)} rules found" in out.stdout + out.stderr


def _bucket_series(route, counts_per_minute):
    """Input series of a histogram whose observations per minute fall into the given buckets."""
    series, total = [], 0
    for le in ("-1.0", "0.0", "1024.0", "4096.0", "16384.0", "65536.0", "1048576.0", "+Inf"):
        total += counts_per_minute.get(le, 0)
        labels = f'job="app",method="GET",route="{route}",le="{le}"'
        series.append({"series": f"leaklint_request_memory_delta_bytes_bucket{{{labels}}}", "values": f"0+{total}x240"})
    labels = f'job="app",method="GET",route="{route}"'
    series.append({"series": f"leaklint_request_memory_delta_bytes_count{{{labels}}}", "values": f"0+{total}x240"})
    series.append({"series": f"leaklint_requests_total{{{labels}}}", "values": f"0+{total}x240"})
    return series


def test_alert_rules_fire_for_a_leaking_endpoint_and_not_for_a_clean_one(tmp_path):
    promtool = _promtool()
    series = _bucket_series("/leak", {"65536.0": 60}) + _bucket_series("/clean", {"4096.0": 55, "65536.0": 5})
    series.append({"series": 'leaklint_process_rss_bytes{job="app",instance="web-1",pid="41"}', "values": "2000000000x240"})
    series.append({"series": 'leaklint_process_rss_bytes{job="app",instance="web-1",pid="42"}', "values": "300000000x240"})
    fired = {
        "alertname": "LeaklintEndpointSteadyMemoryGrowth",
        "eval_time": "2h",
        "exp_alerts": [{
            "exp_labels": {"severity": "warning", "job": "app", "method": "GET", "route": "/leak"},
            "exp_annotations": {
                # the median of observations spread evenly over (16 KiB, 64 KiB]
                "summary": "GET /leak grows memory by 40kiB per request (median, 1 h)",
                "description": "Run `leaklint probe` on this endpoint to confirm and attribute it, and `leaklint` on "
                               "its code for the known leak shapes.",
            },
        }],
    }
    rss = {
        "alertname": "LeaklintProcessRssHigh",
        "eval_time": "30m",
        "exp_alerts": [{
            "exp_labels": {"severity": "critical", "job": "app", "instance": "web-1", "pid": "41"},
            "exp_annotations": {"summary": "web-1 worker 41 uses 1.863GiB RSS"},
        }],
    }
    quiet_early = {"alertname": "LeaklintEndpointSteadyMemoryGrowth", "eval_time": "50m", "exp_alerts": []}
    quiet_heavy = {"alertname": "LeaklintEndpointHeavyRequests", "eval_time": "2h", "exp_alerts": []}
    test_file = tmp_path / "alerts-test.yml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": [os.path.abspath(os.path.join(DOCS, "prometheus-alerts.yml"))],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series,
                   "alert_rule_test": [fired, rss, quiet_early, quiet_heavy]}],
    }))
    out = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_setting_the_gauges_never_breaks_another_threads_tuple():
    """The sampler thread counts GC objects while request threads build tuples (a real SystemError before)."""
    from leaklint.runtime.metrics import metrics_for

    gauges = metrics_for(CollectorRegistry())
    errors, stop = [], time.monotonic() + 2.0

    def build_tuples():
        while time.monotonic() < stop:
            try:
                tuple(x for x in range(200) if x % 3)
            except SystemError as exc:
                errors.append(exc)

    def set_gauges():
        while time.monotonic() < stop:
            gauges.update_process()

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0001)  # switch threads often, so that a bad window is hit if there is one
    try:
        threads = [threading.Thread(target=build_tuples) for _ in range(2)] + [threading.Thread(target=set_gauges)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old_interval)
    assert errors == []
