"""What ``watch(app, metrics=True)`` adds per request, against the bare app and against basic ``watch``.

Two measurements, each configuration in a fresh subprocess (prometheus_client
picks multiprocess mode at import, from PROMETHEUS_MULTIPROC_DIR):

* ``inprocess``: a minimal ASGI app called directly, N requests in a loop; the
  median per-request time over repeats. This isolates the watcher's own work.
* ``server``: uvicorn on 127.0.0.1 with the small FastAPI app of
  ``watch_overhead.py``, driven by keep-alive client threads (bounded count);
  median latency and throughput, configurations interleaved round by round.

    python benchmarks/metrics_overhead.py [--mode inprocess|server|both] [--runs 5] [--requests 2000]

This is not a test; it needs the ``test`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "src")]
CONFIGS = ["off", "basic", "metrics", "metrics-multiprocess"]


def wrap(app, config: str, log_dir: str):
    if config == "off":
        return app
    from leaklint.runtime import watch

    return watch(app, log_path=os.path.join(log_dir, f"{config}-{os.getpid()}.jsonl"), level="basic",
                 metrics=config.startswith("metrics"), print_summary=False)


async def _noop_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def inprocess(config: str, requests: int, repeats: int, log_dir: str) -> float:
    """Median microseconds per request through the (watched) ASGI callable."""
    app = wrap(_noop_app, config, log_dir)
    # Starlette-like scope with a route so that the watcher resolves a template
    scope = {"type": "http", "method": "GET", "path": "/items/1", "root_path": "", "headers": [],
             "query_string": b"", "route": type("R", (), {"path": "/items/{item_id}"})()}

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    async def loop() -> list[float]:
        per_request = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(requests):
                await app(dict(scope), receive, send)
            per_request.append((time.perf_counter() - t0) / requests * 1e6)
        return per_request

    return statistics.median(asyncio.run(loop()))


def serve(config: str, port: int, log_dir: str) -> None:
    import uvicorn
    from watch_overhead import HOST, build_app

    uvicorn.run(wrap(build_app("off", log_dir), config, log_dir), host=HOST, port=port, log_level="warning",
                access_log=False)


def child_env(config: str, prom_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if config == "metrics-multiprocess":
        env["PROMETHEUS_MULTIPROC_DIR"] = prom_dir
    return env


def server_round(config: str, total: int, threads: int, log_dir: str, prom_dir: str) -> dict[str, float]:
    from watch_overhead import drive, free_port, wait_ready

    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", config, "--port", str(port), "--log-dir", log_dir],
                            env=child_env(config, prom_dir))
    try:
        wait_ready(port)
        lat, rps = drive(port, total, threads)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lat.sort()
    return {"p50_ms": statistics.median(lat) * 1000, "rps": rps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["inprocess", "server", "both"], default="both")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--serve", choices=CONFIGS)
    ap.add_argument("--inprocess", choices=CONFIGS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--log-dir")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.log_dir)
        return
    if args.inprocess:
        print(json.dumps(inprocess(args.inprocess, args.requests, args.runs, args.log_dir)))
        return
    with tempfile.TemporaryDirectory() as log_dir, tempfile.TemporaryDirectory() as prom_dir:
        if args.mode in ("inprocess", "both"):
            print(f"in-process, median of {args.runs} x {args.requests} requests, microseconds per request:")
            base = None
            for config in CONFIGS:
                out = subprocess.run([sys.executable, __file__, "--inprocess", config, "--requests", str(args.requests),
                                      "--runs", str(args.runs), "--log-dir", log_dir],
                                     env=child_env(config, prom_dir), capture_output=True, text=True, check=True)
                us = json.loads(out.stdout)
                base = us if base is None else base
                print(f"  {config:22} {us:8.2f} us   (+{us - base:.2f} us over the bare app)")
        if args.mode in ("server", "both"):
            results: dict[str, list[dict[str, float]]] = {c: [] for c in CONFIGS}
            for r in range(args.runs):
                order = CONFIGS[r % len(CONFIGS):] + CONFIGS[: r % len(CONFIGS)]
                for config in order:
                    results[config].append(server_round(config, args.requests, args.threads, log_dir, prom_dir))
            print(f"uvicorn, {args.runs} rounds x {args.requests} requests, {args.threads} client threads;"
                  " ratios to 'off' of the same round, median over rounds:")
            for config in CONFIGS:
                p50 = statistics.median(r["p50_ms"] / o["p50_ms"] for r, o in zip(results[config], results["off"]))
                rps = statistics.median(r["rps"] / o["rps"] for r, o in zip(results[config], results["off"]))
                abs_p50 = statistics.median(r["p50_ms"] for r in results[config])
                abs_rps = statistics.median(r["rps"] for r in results[config])
                print(f"  {config:22} p50 {p50:5.2f}x  throughput {rps:5.2f}x   ({abs_p50:.2f} ms, {abs_rps:.0f} req/s)")


if __name__ == "__main__":
    main()
