"""Runtime proof for LL501 and LL505: run the fixture apps before and after the real
``leaklint --fix --unsafe-fixes`` and measure what each rule claims.

LL501: peak traced memory (tracemalloc) while a large upload is handled drops from about the upload
size to a small constant. LL505: temporary files left on disk after N downloads drop to zero.
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
UPLOAD_SIZE = 24 * 1024 * 1024
DOWNLOADS = 8


class Rechunk:
    """Deliver the request body in 64 KiB messages, as uvicorn does (the TestClient sends it in one
    message, which makes Starlette's multipart parser copy it whole whatever the handler does)."""

    def __init__(self, app, size=64 * 1024):
        self.app, self.size = app, size

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = {"view": None, "offset": 0, "more": True}

        async def chunked():
            view = state["view"]
            if view is None or state["offset"] >= len(view):
                if view is not None and not state["more"]:
                    return await receive()
                message = await receive()
                if message["type"] != "http.request":
                    return message
                state.update(view=memoryview(message.get("body", b"")), offset=0,
                             more=message.get("more_body", False))
            view, start = state["view"], state["offset"]
            state["offset"] = start + self.size
            last = state["offset"] >= len(view) and not state["more"]
            return {"type": "http.request", "body": bytes(view[start:start + self.size]), "more_body": not last}

        return await self.app(scope, chunked, send)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def apps(tmp_path_factory):
    """(before, after) modules of both fixture apps; `after` is what the real CLI wrote."""
    work = tmp_path_factory.mktemp("ll5-runtime")
    pairs = {}
    for rel in ("LL501/uploads_bad.py", "LL505/exports_bad.py"):
        target = work / f"fixed_{os.path.basename(rel)}"
        shutil.copy(FIXTURES / rel, target)
        pairs[rel] = target
    result = subprocess.run(
        [sys.executable, "-m", "leaklint", "--isolated", "--select", "LL501,LL505", "--fix", "--unsafe-fixes",
         *map(str, pairs.values())], capture_output=True, text=True, timeout=180)
    assert "fixed" in result.stdout, result.stdout + result.stderr
    out = {}
    for rel, fixed in pairs.items():
        assert fixed.read_text() != (FIXTURES / rel).read_text(), f"--fix changed nothing in {rel}"
        stem = os.path.basename(rel)[:-3]
        out[rel] = (_load(FIXTURES / rel, f"ll5_before_{stem}"), _load(fixed, f"ll5_after_{stem}"))
    return out


def _multipart(payload: bytes, boundary: str = "leaklint-boundary") -> tuple:
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + payload + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload_peak(module, upload_dir: Path, body: bytes, content_type: str) -> int:
    module.UPLOAD_DIR = str(upload_dir)
    with TestClient(Rechunk(module.app)) as client:
        tracemalloc.start()
        try:
            response = client.post("/upload", content=body, headers={"content-type": content_type})
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert response.status_code == 200, response.text
    return peak


def test_ll501_fix_keeps_upload_memory_flat(apps, tmp_path):
    before, after = apps["LL501/uploads_bad.py"]
    payload = os.urandom(1024) * (UPLOAD_SIZE // 1024)
    digest = hashlib.sha256(payload).hexdigest()
    body, content_type = _multipart(payload)
    del payload
    peaks = {}
    for label, module in (("before", before), ("after", after)):
        directory = tmp_path / label
        directory.mkdir()
        peaks[label] = _upload_peak(module, directory, body, content_type)
        # same bytes on disk either way: the fix only changes how they get there
        assert hashlib.sha256((directory / "upload.bin").read_bytes()).hexdigest() == digest
    assert peaks["before"] > 0.9 * UPLOAD_SIZE, peaks  # the whole upload was held in memory
    assert peaks["after"] < 0.2 * UPLOAD_SIZE, peaks  # chunked copy: a small constant
    assert peaks["before"] > 5 * peaks["after"], peaks


def _files_left(directory: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(directory))


def test_ll505_fix_leaves_no_temp_files(apps, tmp_path):
    before, after = apps["LL505/exports_bad.py"]
    left = {}
    for label, module in (("before", before), ("after", after)):
        directory = tmp_path / label
        directory.mkdir()
        module.EXPORT_DIR = str(directory)
        with TestClient(module.app) as client:
            for _ in range(DOWNLOADS):
                assert client.get("/export").content == b"id,name\n1,alice\n"
                assert client.get("/report").content == b"report\n"
                assert client.get("/bundle").content == b"bundle\n"
        left[label] = (_files_left(directory), len(os.listdir(directory)))
    assert left["before"][0] == 3 * DOWNLOADS, left  # one file per download of each endpoint
    assert left["after"] == (0, 0), left  # files and the mkdtemp directories are gone
