"""Test app for the live dashboard: a leaking and a clean endpoint, and routes whose names are HTML.

The token, the static report and the refresh period come from the environment,
so the browser test can serve it with a real uvicorn.
"""

import os

from fastapi import FastAPI

from leaklint.runtime import watch

HELD = []
HOSTILE_SCRIPT = "/evil/<script>window.__pwned = 1</script>"
HOSTILE_IMG = "/img/<img src=x onerror=window.__pwned=2>"

inner = FastAPI()


@inner.get("/leak")
def leak():
    HELD.append(bytearray(32 * 1024))  # leak: grows with every request
    return {"held": len(HELD)}


@inner.get("/clean")
def clean():
    return {"total": sum(i * i for i in range(200))}


@inner.get(HOSTILE_SCRIPT)
def hostile_script():
    return {"ok": True}


@inner.get(HOSTILE_IMG)
def hostile_img():
    return {"ok": True}


app = watch(
    inner,
    log_path=os.path.join(os.environ.get("LL_WATCH_LOG_DIR", "."), "dashboard-watch.jsonl"),
    level="allocations",
    interval_seconds=0.2,
    print_summary=False,
    dashboard_token=os.environ.get("LL_DASHBOARD_TOKEN"),
    dashboard_refresh_seconds=float(os.environ.get("LL_DASHBOARD_REFRESH", "1")),
    static=os.environ.get("LL_STATIC") or None,
)
