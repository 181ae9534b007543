"""LL503's examples about the descriptor `tempfile.mkstemp()` opens beside the path it returns."""

from leaklint.rule import Invalid
from leaklint.rules.file_io._common import STREAM_APP

VALID = [
    # the descriptor is taken over by a file object that `with` closes
    STREAM_APP + """
import os
import tempfile

@app.post("/render")
def render(body: bytes):
    fd, path = tempfile.mkstemp(suffix=".png")
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    os.remove(path)
""",
    # closed right away; written through `os.write` first
    STREAM_APP + """
import os
from tempfile import mkstemp

@app.post("/scratch")
def scratch(body: bytes):
    handle, path = mkstemp()
    try:
        os.write(handle, body)
    finally:
        os.close(handle)
    os.unlink(path)
""",
    # handed to a helper that may close it
    STREAM_APP + """
import tempfile

def dump(fd, data):
    ...

@app.post("/dump")
def dump_route(body: bytes):
    fd, path = tempfile.mkstemp()
    dump(fd, body)
    return {"path": path}
""",
    # not per request: a one-off at startup
    """
import tempfile

_, SCRATCH = tempfile.mkstemp()


def scratch_path():
    _, path = tempfile.mkstemp()
    return path
""",
]

INVALID = [
    Invalid(STREAM_APP + """
import tempfile
from pathlib import Path

from fastapi.responses import FileResponse

@app.get("/pipelines/{name}/graph")
def graph(name: str):
    _, path = tempfile.mkstemp(suffix=".png")
    Path(path).write_bytes(name.encode())
    return FileResponse(path)
""", line=13, message="File descriptor from `tempfile.mkstemp()` is dropped"),
    Invalid(STREAM_APP + """
import os
import tempfile

@app.post("/upload")
def upload(body: bytes):
    fd, path = tempfile.mkstemp()
    os.write(fd, body)
    size = os.path.getsize(path)
    os.remove(path)
    return {"size": size}
""", line=11, message="descriptor from `tempfile.mkstemp()` is never closed"),
    Invalid(STREAM_APP + """
import tempfile

@app.post("/scratch")
def scratch():
    path = tempfile.mkstemp(suffix=".txt")[1]
    with open(path, "w") as out:
        out.write("x")
    return {"path": path}
""", line=10, message="is dropped"),
]
