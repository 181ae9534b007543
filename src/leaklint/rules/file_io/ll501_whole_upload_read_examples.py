"""LL501's examples, kept apart from the rule to keep both short: the invalid ones here, the valid ones
in ``ll501_whole_upload_read_valid_examples``."""

from __future__ import annotations

from leaklint.rule import Invalid
from leaklint.rules.file_io.ll501_app_factory_examples import APP_FACTORY_INVALID, APP_FACTORY_VALID
from leaklint.rules.file_io.ll501_parsed_examples import PARSED_INVALID, PARSED_VALID
from leaklint.rules.file_io.ll501_path_limit_examples import PATH_LIMIT_INVALID, PATH_LIMIT_VALID
from leaklint.rules.file_io.ll501_whole_upload_read_valid_examples import UPLOAD_APP, VALID as _VALID

__all__ = ["INVALID", "VALID"]


INVALID = [
    # a helper of another module reads whole the file object of the upload it is handed
    Invalid("""
from fastapi import FastAPI, UploadFile
from app.audio import decode

app = FastAPI()

@app.post("/transcribe")
async def transcribe(audio: UploadFile):
    return {"samples": len(decode(audio.file))}
""", files={"app/__init__.py": "", "app/audio.py": """
from typing import BinaryIO


def decode(stream: BinaryIO) -> bytes:
    return stream.read()
"""}, path="app/main.py", line=8, message="reads the whole upload `audio` into memory"),
    # a middleware that only logs the content length bounds nothing
    Invalid("""
from fastapi import FastAPI, Request, UploadFile

app = FastAPI()

@app.middleware("http")
async def log_sizes(request: Request, call_next):
    print(request.headers.get("content-length"))
    return await call_next(request)

@app.post("/upload")
async def upload(file: UploadFile):
    return {"size": len(await file.read())}
""", line=12, column=31, message="`file.read()` reads the whole upload"),
    Invalid(UPLOAD_APP + """
@app.post("/upload")
async def upload(file: UploadFile):
    contents = await file.read()
    with open(f"/data/{file.filename}", "wb") as out:
        out.write(contents)
    return {"ok": True}
""", line=7, column=22, message="`file.read()` reads the whole upload", fixed="""
from fastapi import FastAPI, UploadFile
import shutil

app = FastAPI()

@app.post("/upload")
async def upload(file: UploadFile):
    with open(f"/data/{file.filename}", "wb") as out:
        shutil.copyfileobj(file.file, out)
    return {"ok": True}
"""),
    Invalid("""
from typing import Annotated, Optional
import fastapi as fa

router = fa.APIRouter()

@router.post("/u")
def upload(doc: Annotated[Optional[fa.UploadFile], fa.File()] = None):
    with open("/tmp/doc", "wb") as buffer:
        buffer.write(doc.file.read())
""", line=9, column=22, message="`doc.file.read()`", fixed="""
from typing import Annotated, Optional
import fastapi as fa
import shutil

router = fa.APIRouter()

@router.post("/u")
def upload(doc: Annotated[Optional[fa.UploadFile], fa.File()] = None):
    with open("/tmp/doc", "wb") as buffer:
        shutil.copyfileobj(doc.file, buffer)
"""),
    # a list of uploads, read in a loop; the bytes are used: no fix
    Invalid(UPLOAD_APP + """
@app.post("/many")
async def many(files: list[UploadFile]):
    sizes = []
    for f in files:
        data = await f.read()
        sizes.append(len(data))
    return sizes
""", line=9, column=22),
    Invalid("""
from starlette.requests import Request as Req
from starlette.responses import Response
from starlette.routing import Route

async def echo(request: Req):
    payload = await request.body()
    return Response(payload, media_type="application/octet-stream")

routes = [Route("/echo", echo, methods=["POST"])]
""", line=6, message="`request.body()` reads the whole request body"),
    # a proxy that forwards the body it never looks at (open-webui terminals)
    Invalid("""
import aiohttp
from fastapi import APIRouter, Request

router = APIRouter()

@router.api_route("/{path:path}", methods=["POST"])
async def proxy(path: str, request: Request):
    session = aiohttp.ClientSession()
    try:
        body = await request.body()
        upstream = await session.request(method=request.method, url=path, data=body or None)
        return await upstream.json()
    finally:
        await session.close()
""", line=10, column=22),
    Invalid("""
from starlette.applications import Starlette
from starlette.requests import Request

app = Starlette()

@app.route("/up", methods=["POST"])
async def up(request: Request):
    form = await request.form()
    upload = form["file"]
    data = await upload.read(-1)
    return len(data)
""", line=10, column=18),
    # UploadFile and the router imported through linted modules that re-export them
    Invalid("""
from app.types import Upload
from app.web import router

async def store(file: Upload, out):
    out.write(await file.read())

@router.post("/store")
async def store_endpoint(file: Upload):
    with open("/srv/x", "wb") as out:
        await store(file, out)
""", files={"app/__init__.py": "", "app/types.py": "from fastapi import UploadFile as Upload\n",
        "app/web.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"},
        path="app/store.py", line=5, column=21, fixed="""
from app.types import Upload
from app.web import router
import shutil

async def store(file: Upload, out):
    shutil.copyfileobj(file.file, out)

@router.post("/store")
async def store_endpoint(file: Upload):
    with open("/srv/x", "wb") as out:
        await store(file, out)
"""),
    # FastAPI reads the whole upload into `bytes` before the handler runs
    Invalid("""
from fastapi import FastAPI, File

app = FastAPI()

@app.post("/avatar")
async def avatar(data: bytes = File(...)):
    return {"size": len(data)}
""", line=6, column=18, message="`data: bytes = File(...)` reads the whole upload into memory"),
    Invalid("""
from typing import Annotated
from fastapi import APIRouter, File

router = APIRouter()

@router.post("/scan")
def scan(payload: Annotated[bytes, File()], name: str = ""):
    return {"name": name}
""", line=7, column=10, message="`payload: Annotated[bytes, File()]`"),
    # a helper of another module reads the upload it is given, whole
    Invalid("""
from fastapi import FastAPI, UploadFile
from app.storage import store

app = FastAPI()

@app.post("/upload")
async def upload(file: UploadFile):
    return {"path": await store(file, "/data")}
""", files={"app/__init__.py": "", "app/storage.py": """
import os

async def store(upload, folder):
    data = await upload.read()
    path = os.path.join(folder, upload.filename)
    with open(path, "wb") as out:
        out.write(data)
    return path
"""}, path="app/main.py", line=8, message="reads the whole upload `file` into memory"),
    # a gzip upload decompressed whole by a helper the route calls (the decompressed size is unbounded);
    # storing the result in the route's own list is no memo: the helper runs on every request
    Invalid(UPLOAD_APP + """
import gzip
import io

def gunzip(upload: UploadFile) -> UploadFile:
    data = gzip.open(upload.file).read()
    return UploadFile(file=io.BytesIO(data), filename=upload.filename)

@app.post("/documents")
def documents(files: list[UploadFile]):
    for index, file in enumerate(files):
        files[index] = gunzip(file)
    return {"count": len(files)}
""", line=9, column=12, message="`gzip.open(upload.file).read()` reads the whole decompressed upload"),
    Invalid(UPLOAD_APP + """
import bz2

@app.post("/logs")
async def logs(file: UploadFile):
    with bz2.open(file.file) as reader:
        text = reader.read()
    return {"lines": text.count(b"\\n")}
""", line=10, column=16, message="reads the whole decompressed upload"),
]

VALID = _VALID + [
    # decompressed in chunks; a gzip file of the server's own; a decompressed upload parsed as JSON
    UPLOAD_APP + """
import gzip
import shutil

@app.post("/restore")
def restore(file: UploadFile):
    with gzip.open(file.file) as reader, open("/tmp/restore", "wb") as out:
        shutil.copyfileobj(reader, out)
    with gzip.open("/srv/seed.gz") as seed:
        return {"seed": len(seed.read())}
""",
    UPLOAD_APP + """
import gzip
import json

@app.post("/events")
def events(file: UploadFile):
    return json.loads(gzip.open(file.file).read())
""",
    # every file of the list is size-checked in an earlier loop over the same list
    UPLOAD_APP + """
from typing import List

@app.post("/attachments")
async def attachments(parts: List[UploadFile]):
    for part in parts:
        if part.size > 1_000_000:
            return {"error": "too large"}
    saved = []
    for upload in parts:
        saved.append(len(await upload.read()))
    return {"sizes": saved}
""",
]

INVALID += PATH_LIMIT_INVALID + APP_FACTORY_INVALID + PARSED_INVALID
VALID += PATH_LIMIT_VALID + APP_FACTORY_VALID + PARSED_VALID
