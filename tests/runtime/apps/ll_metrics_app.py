"""Test app for the metrics tests: one endpoint that keeps 256 KiB per request, one clean, metrics at /metrics.

Served by gunicorn with two uvicorn workers in prometheus_client's multiprocess mode.
"""

import os

from fastapi import FastAPI

from leaklint.runtime import watch

HELD = []
LEAK_BYTES = 256 * 1024

inner = FastAPI()


@inner.get("/leak")
def leak():
    HELD.append(bytearray(LEAK_BYTES))  # leak: grows with every request
    return {"pid": os.getpid(), "held": len(HELD)}


@inner.get("/clean")
def clean():
    return {"pid": os.getpid(), "total": sum(i * i for i in range(200))}


app = watch(
    inner,
    log_path=os.path.join(os.environ.get("LL_WATCH_LOG_DIR", "."), f"watch-{os.getpid()}.jsonl"),
    level="allocations",
    interval_seconds=1.0,
    metrics=True,
    metrics_path="/metrics",  # served by the watcher: scrapes are not counted as requests
    print_summary=False,
)
