"""The LL401 and LL301 fixes, run for real: the CLI fixes a fixture copy, then we execute both versions.

LL401: under asyncio, a fire-and-forget task waiting on a weakly held future is garbage-collected
mid-flight before the fix; after it the task survives ``gc.collect()``, finishes its work and leaves
the module's ``_background_tasks`` set empty.
LL301: a FastAPI app behind an outer ASGI probe (code that runs after the request in the same
context, as a server's access log does). Before the fix the probe sees the request's id; after it
the id is reset.
"""

import asyncio
import gc
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]


def _fixed_copy(tmp_path, fixture: str, select: str) -> Path:
    source = ROOT / "fixtures" / fixture
    target = tmp_path / source.name
    shutil.copy(source, target)
    result = subprocess.run([sys.executable, "-m", "leaklint", "--isolated", "--select", select, "--fix",
                             "--unsafe-fixes", str(target)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert target.read_text() == source.with_name(source.stem + ".fixed.py").read_text()
    return target


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _subscribe_collect_publish(module):
    await module.subscribe("orders")
    await asyncio.sleep(0)  # the task starts and waits on its future
    gc.collect()
    alive_after_gc = "orders" in module.waiters
    published = module.publish("orders", {"id": 1})
    for _ in range(3):
        await asyncio.sleep(0)
    return alive_after_gc, published


def _run(module):
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda loop, context: None)  # "Task was destroyed but it is pending!"
    try:
        return loop.run_until_complete(_subscribe_collect_publish(module))
    finally:
        loop.close()


def test_ll401_fix_keeps_the_task_alive(tmp_path):
    original = _load(ROOT / "fixtures" / "LL4" / "events_bad.py", "events_bad_original")
    alive, published = _run(original)
    # the dropped task was collected with its future: nobody was left to deliver to
    assert (alive, published, original.delivered) == (False, False, [])

    fixed = _load(_fixed_copy(tmp_path, "LL4/events_bad.py", "LL401"), "events_bad_fixed")
    assert fixed._background_tasks == set()
    alive, published = _run(fixed)
    assert (alive, published) == (True, True)
    assert fixed.delivered == [("orders", {"id": 1})]
    assert fixed._background_tasks == set()  # the done-callback discarded the finished task


def _probe(module):
    """Outer ASGI app: records the ContextVar after the request, in the same context."""
    seen = []

    async def app(scope, receive, send):
        await module.app(scope, receive, send)
        if scope["type"] == "http":
            seen.append(module.request_id.get())

    return app, seen


def _serve(module):
    app, seen = _probe(module)
    with TestClient(app) as client:
        response = client.get("/", headers={"x-request-id": "req-42"})
    assert response.json() == {"request_id": "req-42"}
    assert response.headers["x-request-id"] == "req-42"
    return seen


def test_ll301_fix_resets_the_context_value(tmp_path):
    original = _load(ROOT / "fixtures" / "LL3" / "request_id_bad.py", "request_id_bad_original")
    assert _serve(original) == ["req-42"]  # leaked past the request

    fixed = _load(_fixed_copy(tmp_path, "LL3/request_id_bad.py", "LL301"), "request_id_bad_fixed")
    assert _serve(fixed) == ["-"]  # reset when the middleware returned
