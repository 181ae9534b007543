"""LL501's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

UPLOAD_APP = """
from fastapi import FastAPI, UploadFile

app = FastAPI()
"""

VALID = [
    UPLOAD_APP + """
CHUNK = 1024 * 1024

@app.post("/upload")
async def upload(file: UploadFile):
    with open("/tmp/x", "wb") as out:
        while chunk := await file.read(CHUNK):
            out.write(chunk)
""",
    UPLOAD_APP + """
import shutil

@app.post("/upload")
def upload(file: UploadFile):
    with open("/tmp/x", "wb") as out:
        shutil.copyfileobj(file.file, out)
""",
    """
from fastapi import FastAPI, Request

app = FastAPI()

@app.post("/ingest")
async def ingest(request: Request):
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
    return {"size": total}
""",
    # `name` is a plain string parameter here, and the form field is text
    """
from fastapi import FastAPI, Form

app = FastAPI()

@app.post("/a")
async def a(name: str, data: str = Form()):
    with open(name) as f:
        return f.read()
""",
    # a bounded read
    UPLOAD_APP + """
MAX = 10_000_000

@app.post("/avatar")
async def avatar(file: UploadFile):
    head = await file.read(MAX + 1)
    return {"too_big": len(head) > MAX}
""",
    # a local class named UploadFile is not Starlette's
    """
class UploadFile:
    async def read(self):
        return b""

async def handle(file: UploadFile):
    return await file.read()
""",
    # the parameter is rebound to something else before the read
    UPLOAD_APP + """
import io

@app.post("/u")
async def u(file: UploadFile):
    file = io.BytesIO(b"x")
    return file.read()
""",
    # request.body() outside any handler (a helper in a module with no routes)
    """
from starlette.requests import Request

async def log_body(request: Request):
    print(await request.body())
""",
    # an upload read whole by a helper no handler of this module calls (FastAPI's own `bytes = File()`)
    """
from fastapi import UploadFile

async def _read_file_bytes(file: UploadFile) -> bytes:
    position = file.file.tell()
    try:
        return await file.read()
    finally:
        await file.seek(position)
""",
    # parsed request bodies need all their bytes (open-webui, mlflow)
    """
import hashlib
import json
from fastapi import APIRouter, Request

router = APIRouter()

@router.post("/speech")
async def speech(request: Request):
    body = await request.body()
    name = hashlib.sha256(body).hexdigest()
    payload = json.loads(body)
    return {"name": name, "model": payload.get("model")}

@router.post("/traces")
async def traces(request: Request):
    body = await request.body()
    if len(body) > 10:
        body = decompress(body)
    return {"n": len(body)}

@router.post("/zstd")
async def zstd(request: Request):
    return json.loads(decompress(await request.body()))

def decompress(data):
    return data
""",
    # the passthrough also parses the body it forwards: it needs all of it
    """
import json
import httpx
from fastapi import FastAPI, Request

app = FastAPI()

@app.post("/proxy")
async def proxy(request: Request):
    body = await request.body()
    payload = json.loads(body) if body else None
    async with httpx.AsyncClient() as client:
        r = await client.post("http://upstream", content=body or None)
    return r.json()
""",
    # the size is checked before the read: bounded
    UPLOAD_APP + """
MAX = 5 * 1024 * 1024

@app.post("/avatar")
async def avatar(file: UploadFile):
    if file.size is None or file.size > MAX:
        raise ValueError("too large")
    return {"n": len(await file.read())}
""",
    # a validating dependency checks the size
    UPLOAD_APP + """
from fastapi import Depends, HTTPException

async def small_upload(file: UploadFile) -> UploadFile:
    if file.size > 1_000_000:
        raise HTTPException(413)
    return file

@app.post("/avatar")
async def avatar(file: UploadFile = Depends(small_upload)):
    return {"n": len(await file.read())}
""",
    # `bytes` parameters that are not uploads, and a File() upload declared as UploadFile
    """
from fastapi import Body, FastAPI, File, UploadFile

app = FastAPI()

@app.post("/raw")
def raw(token: bytes = Body(...), file: UploadFile = File(...)):
    return {}
""",
    # a document parser needs all of it anyway; a size check in the route bounds the closure's read
    UPLOAD_APP + """
import asyncio
import json
import yaml

@app.post("/workflow")
async def workflow(file: UploadFile):
    spec = yaml.safe_load(await file.read())
    return {"steps": len(spec)}

@app.post("/settings")
async def settings(file: UploadFile):
    raw = await file.read()
    return json.loads(raw.decode("utf-8"))

@app.post("/many")
async def many(files: list[UploadFile]):
    for f in files:
        if f.size > 10_000_000:
            raise ValueError("too large")

    async def load(f):
        return await f.read()

    return {"n": len(await asyncio.gather(*(load(f) for f in files)))}
""",
    # a helper of another module reads the upload whole to parse it: the parser needs all of it
    Valid("""
from fastapi import FastAPI, UploadFile
from app.imports import load_rows

app = FastAPI()

@app.post("/import")
async def import_rows(file: UploadFile):
    return {"rows": len(await load_rows(file))}
""", files={"app/__init__.py": "", "app/imports.py": """
import json

async def load_rows(upload):
    content = await upload.read()
    return json.loads(content)
"""}, path="app/main.py"),
    # the parser is the project's own wrapper; the size went through a local first
    Valid("""
from fastapi import FastAPI, UploadFile
from app import yamlio

app = FastAPI()

@app.post("/actions")
async def actions(file: UploadFile):
    return yamlio.safe_load(await file.read())

@app.post("/upload")
async def upload(file: UploadFile):
    size = file.size or 0
    if size > 1_000_000:
        raise ValueError("too large")
    data = await file.read()
    with open("/tmp/x", "wb") as out:
        out.write(data)
""", files={"app/__init__.py": "", "app/yamlio.py": """
import yaml

def safe_load(text):
    return yaml.load(text, Loader=yaml.CSafeLoader)
"""}, path="app/main.py"),
]


INVALID = [
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
]
