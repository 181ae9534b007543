"""Measure what ``leaklint.runtime.watch`` costs a real server, per level.

Starts uvicorn on 127.0.0.1 (loopback only) in a subprocess, once without the
watcher and once per level, drives a bounded number of requests with a few
keep-alive client threads, and prints median latency / throughput and their
ratios to the unwatched server. Configurations are interleaved run by run so
that drift on a shared machine hits all of them alike.

    python benchmarks/watch_overhead.py [--requests 3000] [--runs 3] [--threads 4]

This is not a test; it needs uvicorn and httpx (the ``test`` extra).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HOST = "127.0.0.1"
CONFIGS = ["off", "basic", "allocations", "traces"]


def build_app(level: str, log_dir: str):
    """A small but realistic FastAPI app: async and sync handlers, a path parameter, a dependency."""
    from fastapi import Depends, FastAPI

    app = FastAPI()

    def settings():
        return {"scale": 3}

    @app.get("/items/{item_id}")
    async def item(item_id: int, cfg: dict = Depends(settings)):
        return {"id": item_id, "values": [item_id * cfg["scale"] + i for i in range(50)]}

    @app.get("/compute")
    def compute():
        data = {str(i): i * i for i in range(200)}
        return {"total": sum(data.values())}

    if level == "off":
        return app
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
    from leaklint.runtime import watch

    # Default interval (5 s) and threshold: the configuration people deploy.
    return watch(app, log_path=os.path.join(log_dir, f"watch-{level}.jsonl"), level=level, print_summary=False)


def serve(level: str, port: int, log_dir: str) -> None:
    import uvicorn

    uvicorn.run(build_app(level, log_dir), host=HOST, port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on port {port} did not start")


def drive(port: int, total: int, threads: int) -> tuple[list[float], float]:
    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = total // threads

    def worker(k: int) -> None:
        local = []
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10) as client:
            for i in range(per_thread):
                path = f"/items/{i % 100}" if (i + k) % 2 else "/compute"
                t0 = time.perf_counter()
                r = client.get(path)
                local.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code}")
        with lock:
            latencies.extend(local)

    # Warm-up, not measured.
    with httpx.Client(base_url=f"http://{HOST}:{port}") as client:
        for i in range(100):
            client.get("/compute")
            client.get(f"/items/{i}")
    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    return latencies, len(latencies) / wall


def one_run(level: str, total: int, threads: int, log_dir: str) -> dict[str, float]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--serve", level, "--port", str(port), "--log-dir", log_dir],
    )
    try:
        wait_ready(port)
        lat, rps = drive(port, total, threads)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    lat.sort()
    return {
        "p50_ms": statistics.median(lat) * 1000,
        "p95_ms": lat[int(len(lat) * 0.95)] * 1000,
        "rps": rps,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--levels", default=",".join(CONFIGS), help="comma-separated subset; 'off' is always included")
    ap.add_argument("--serve", choices=CONFIGS)
    ap.add_argument("--port", type=int)
    ap.add_argument("--log-dir")
    args = ap.parse_args()
    if args.serve:
        serve(args.serve, args.port, args.log_dir)
        return

    configs = ["off"] + [c for c in args.levels.split(",") if c in CONFIGS and c != "off"]
    results: dict[str, list[dict[str, float]]] = {c: [] for c in configs}
    with tempfile.TemporaryDirectory() as log_dir:
        for run in range(args.runs):
            # Rotate the order each round so no level always runs first or last.
            shift = run % len(configs)
            for cfg in configs[shift:] + configs[:shift]:
                r = one_run(cfg, args.requests, args.threads, log_dir)
                results[cfg].append(r)
                print(f"run {run + 1} {cfg:<12} p50 {r['p50_ms']:.2f} ms  p95 {r['p95_ms']:.2f} ms  {r['rps']:.0f} req/s",
                      flush=True)
    med = {c: {k: statistics.median(r[k] for r in results[c]) for k in ("p50_ms", "p95_ms", "rps")} for c in configs}
    base = med["off"]
    print()
    print(f"uvicorn on {HOST}, {args.requests} requests x {args.runs} runs, {args.threads} client threads, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; medians:")
    print(f"{'level':<12} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8}   {'p50 ratio':>9} {'p95 ratio':>9} {'throughput ratio':>16}")
    for c in configs:
        m = med[c]
        print(f"{c:<12} {m['p50_ms']:>8.2f} {m['p95_ms']:>8.2f} {m['rps']:>8.0f}   "
              f"{m['p50_ms'] / base['p50_ms']:>9.2f} {m['p95_ms'] / base['p95_ms']:>9.2f} {m['rps'] / base['rps']:>16.2f}")
    # On a shared machine, background load drifts between rounds; the ratio to the
    # unwatched server of the *same* round cancels most of it.
    print()
    print("median of per-round ratios to the unwatched server of the same round:")
    print(f"{'level':<12} {'p50 ratio':>9} {'p95 ratio':>9} {'throughput ratio':>16}")
    for c in configs:
        pairs = list(zip(results[c], results["off"]))
        p50 = statistics.median(a["p50_ms"] / b["p50_ms"] for a, b in pairs)
        p95 = statistics.median(a["p95_ms"] / b["p95_ms"] for a, b in pairs)
        rps = statistics.median(a["rps"] / b["rps"] for a, b in pairs)
        print(f"{c:<12} {p50:>9.2f} {p95:>9.2f} {rps:>16.2f}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    if load:
        print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")


if __name__ == "__main__":
    main()
