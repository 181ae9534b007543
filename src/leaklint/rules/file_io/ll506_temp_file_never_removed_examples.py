"""LL506's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid
from leaklint.rules.file_io._common import FILE_APP

_STASH = {"app/__init__.py": "", "app/logs.py": "import logging\n\nlog = logging.getLogger(__name__)\n",
          "app/storage.py": """
import shutil
import tempfile


def stash(upload):
    tmp = tempfile.NamedTemporaryFile(suffix=".bin", delete=False)
    shutil.copyfileobj(upload.file, tmp)
    tmp.close()
    return tmp.name
"""}

_STORAGE = """
import shutil
import tempfile


class Storage:
    def stash(self, upload):
        fd, path = tempfile.mkstemp()
        with open(fd, "wb") as out:
            shutil.copyfileobj(upload.file, out)
        return path


def get_storage():
    return Storage()
"""

_MEDIA = """
import os
import subprocess


def probe(path):
    return subprocess.run(["ffprobe", path], capture_output=True).stdout


def decode(path):
    if not os.path.exists(path):
        return 0
    return len(probe(path)) + os.path.getsize(path)


def decode_and_drop(path):
    try:
        return decode(path)
    finally:
        os.remove(path)
"""

#: a route that gets a temp path from a typed dependency and hands it to `app.media.DECODE`
_TRANSCODE_ROUTE = """
from fastapi import APIRouter, Depends, UploadFile
from app.storage import Storage, get_storage
from app.media import DECODE

router = APIRouter()

@router.post("/transcode")
async def transcode(file: UploadFile, storage: Storage = Depends(get_storage)):
    path = storage.stash(file)
    return {"frames": DECODE(path)}
"""

_TRANSCODE_FILES = {"app/__init__.py": "", "app/storage.py": _STORAGE, "app/media.py": _MEDIA}

_SCAN_ROUTE = """
from fastapi import APIRouter, UploadFile
from app.storage import stash
from antivirus import scan_file
from app.logs import log

router = APIRouter()

@router.post("/scan")
async def scan(file: UploadFile):
    path = stash(file)
    log.info("stashed %s", path)
    return {"infected": scan_file(path)}
"""

VALID = [
        # handed on to a project function that removes it when done
        Valid(_TRANSCODE_ROUTE.replace("DECODE", "decode_and_drop"), files=_TRANSCODE_FILES, path="app/routes.py"),
        # the helper's path removed by the route, handed to a background removal, or returned on
        Valid("""
import os
from fastapi import APIRouter, UploadFile
from app.storage import stash
from antivirus import scan_file

router = APIRouter()

@router.post("/scan")
async def scan(file: UploadFile):
    path = stash(file)
    try:
        return {"infected": scan_file(path)}
    finally:
        os.unlink(path)
""", files=_STASH, path="app/routes.py"),
        Valid("""
import os
from fastapi import APIRouter, BackgroundTasks, UploadFile
from app.storage import stash

router = APIRouter()


@router.post("/later")
async def later(file: UploadFile, tasks: BackgroundTasks):
    path = stash(file)
    tasks.add_task(os.remove, path)
    return {"queued": path}
""", files=_STASH, path="app/routes.py"),
        FILE_APP + """
import os

@app.post("/a")
def a():
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(b"x")
    try:
        return {"size": os.path.getsize(tmp.name)}
    finally:
        os.unlink(tmp.name)
""",
        FILE_APP + """
from pathlib import Path

@app.post("/b")
def b():
    fd, name = tempfile.mkstemp()
    path = Path(name)
    size = path.stat().st_size
    path.unlink(missing_ok=True)
    return size
""",
        # returned to the caller, who owns it
        FILE_APP + """
def save_upload(data: bytes) -> str:
    fd, path = tempfile.mkstemp()
    with open(fd, "wb") as f:
        f.write(data)
    return path

@app.post("/c")
def c():
    return {"path": save_upload(b"x")}
""",
        # not a handler
        """
import tempfile

def build():
    return tempfile.mkdtemp()
""",
        # delete=True is removed on close
        FILE_APP + """
@app.post("/d")
def d():
    with tempfile.NamedTemporaryFile(suffix=".txt") as tmp:
        tmp.write(b"x")
""",
        # served with FileResponse: LL505's job
        FILE_APP + """
@app.get("/e")
def e():
    fd, path = tempfile.mkstemp()
    return FileResponse(path)
""",
        # moved to its final place
        FILE_APP + """
import shutil

@app.post("/f")
def f():
    tmp = tempfile.NamedTemporaryFile(delete=False)
    tmp.close()
    shutil.move(tmp.name, "/srv/data/x")
""",
]


INVALID = [
        # handed on to project functions that only read it (a typed dependency's method makes it)
        Invalid(_TRANSCODE_ROUTE.replace("DECODE", "decode"), files=_TRANSCODE_FILES,
                path="app/routes.py", line=9, column=12, message="Temporary path from `stash()`"),
        # a helper of another module makes the file and returns its path; the route never removes it
        Invalid(_SCAN_ROUTE, files=_STASH, path="app/routes.py", line=10, column=12,
                message="Temporary path from `stash()` is never removed"),
        # the helper's path replaces a parameter: what ran before it (a project helper) is not a hand-over
        Invalid(FILE_APP + """
import os
import subprocess
from soundfile import duration

def probe(path):
    return os.path.getsize(path)

def to_wav(path):
    fd, out = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    subprocess.run(["ffmpeg", "-i", path, out])
    return out

@app.post("/convert")
def convert(path: str):
    probe(path)
    path = to_wav(path)
    return {"seconds": duration(path)}
""", line=23, column=12, message="Temporary path from `to_wav()`"),
        Invalid(FILE_APP + """
import shutil
from fastapi import UploadFile

@app.post("/transcribe")
async def transcribe(file: UploadFile):
    with tempfile.NamedTemporaryFile(delete=False, suffix=".wav") as tmp:
        shutil.copyfileobj(file.file, tmp)
    return {"name": len(tmp.name)}
""", line=12, column=10, message="Temporary file from `NamedTemporaryFile`"),
        Invalid(FILE_APP + """
import os

def scratch():
    fd, path = tempfile.mkstemp()
    os.close(fd)
    os.system(f"convert x {path}")

@app.post("/g")
def g():
    scratch()
""", line=10, column=16),
        Invalid("""
from tempfile import mkdtemp as md
from app.web import router

@router.post("/h")
async def h():
    work = md()
    print(work)
""", files={"app/__init__.py": "", "app/web.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"},
            path="app/h.py", line=6, message="Temporary directory from `mkdtemp`"),
    # the path comes back as one item of a tuple; the route unpacks it and never removes it
    Invalid("""
import os
import tempfile

from fastapi import FastAPI

app = FastAPI()


def download(url: str) -> tuple:
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(url.encode())
    return tmp.name, os.path.basename(url)


@app.post("/url")
def from_url(url: str):
    path, name = download(url)
    return {"name": name, "size": os.path.getsize(path)}


@app.post("/url/kept")
def kept(url: str):
    path, name = download(url)
    try:
        return {"name": name, "size": os.path.getsize(path)}
    finally:
        os.remove(path)
""", line=17, message="Temporary path from `download()` is never removed"),
]
