"""LL501's `valid examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Valid

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
    # an app-wide pure-ASGI middleware in another module rejects bodies over a limit with 413
    Valid("""
from fastapi import FastAPI, UploadFile
from app.limits import BodyLimit

app = FastAPI()
app.add_middleware(BodyLimit, limit=10_000_000)

@app.post("/sources")
async def add_source(file: UploadFile):
    data = await file.read()
    with open("/tmp/source", "wb") as out:
        out.write(data)
""", files={"app/__init__.py": "", "app/limits.py": """
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse


class BodyLimit:
    def __init__(self, app, limit):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        size = Headers(scope=scope).get("content-length")
        if scope["type"] == "http" and size is not None and int(size) > self.limit:
            await PlainTextResponse("too large", status_code=413)(scope, receive, send)
            return
        await self.app(scope, receive, send)
"""}, path="app/main.py"),
    # parsed as CSV through a decoded text buffer, in the route and in a helper of another module
    Valid(UPLOAD_APP + """
import csv
import io
from app.tables import rows_of

@app.post("/testsets")
async def upload_testset(file: UploadFile):
    return {"rows": len(await rows_of(file))}

@app.post("/contacts")
async def upload_contacts(file: UploadFile):
    data = await file.read()
    text = data.decode("utf-8-sig")
    return {"rows": len(list(csv.DictReader(io.StringIO(text))))}
""", files={"app/__init__.py": "", "app/tables.py": """
import csv
from io import StringIO

async def rows_of(upload):
    data = await upload.read()
    reader = csv.DictReader(StringIO(data.decode("utf-8")))
    return list(reader)
"""}, path="app/main.py"),
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
