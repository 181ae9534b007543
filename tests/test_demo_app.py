"""The README's demo: findings with positions, then --fix --unsafe-fixes on a copy that still runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "fixtures" / "demo_app"


def leaklint(*args, cwd):
    return subprocess.run([sys.executable, "-m", "leaklint", "--isolated", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_demo_app_findings():
    result = leaklint("fixtures/demo_app", "--select", "LL1", cwd=ROOT)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if ": LL" in line]
    assert [line.split(" ")[0] + " " + line.split(" ")[1] for line in lines] == [
        "fixtures/demo_app/db.py:19:5: LL101",
        "fixtures/demo_app/deps.py:8:5: LL102",
        "fixtures/demo_app/main.py:28:14: LL104",
        "fixtures/demo_app/main.py:34:10: LL103",
    ]


def test_demo_app_fixed_copy_imports_serves_and_has_nothing_fixable_left(tmp_path):
    shutil.copytree(DEMO, tmp_path / "demo_app")
    fixed = leaklint("--fix", "--unsafe-fixes", "demo_app", cwd=tmp_path)
    assert "fixed" in fixed.stdout, fixed.stdout
    script = (
        "from fastapi.testclient import TestClient\n"
        "from demo_app.db import Base, engine\n"
        "from demo_app.main import app\n"
        "Base.metadata.create_all(engine)\n"
        "client = TestClient(app)\n"
        "assert client.get('/users').json() == []\n"
        "assert client.get('/users/count').json() == {'count': 0}\n"
        "print('served')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "served" in run.stdout, run.stderr
    again = leaklint("--output-format", "json", "--unsafe-fixes", "demo_app", cwd=tmp_path)
    records = json.loads(again.stdout)
    assert records, "LL103/LL104 have no automatic fix and must remain reported"
    assert all(r["fix"] is None for r in records), records
