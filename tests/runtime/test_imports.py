"""leaklint.runtime must import, and watch must work, without psutil (the optional `runtime` extra)."""

import os
import subprocess
import sys

SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "src"))

SCRIPT = """
import sys
sys.modules["psutil"] = None  # any 'import psutil' now raises ImportError
import json, tempfile, os
import leaklint.runtime
from leaklint.runtime import watch, probe
from leaklint.runtime.commands import probe_command, report_command
assert "fastapi" not in sys.modules and "starlette" not in sys.modules
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

async def hello(request):
    return PlainTextResponse("hi")

log = os.path.join(tempfile.mkdtemp(), "w.jsonl")
app = watch(Starlette(routes=[Route("/", hello)]), log_path=log, interval_seconds=0.05, print_summary=False)
with TestClient(app) as client:
    assert client.get("/").text == "hi"
records = [json.loads(line) for line in open(log)]
summary = records[-1]
assert summary["type"] == "summary" and summary["rss"]["baseline"] > 0, summary
assert summary["endpoints"][0]["key"] == "GET /"
print("ok")
"""


def test_runtime_imports_and_watches_without_psutil():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok")
