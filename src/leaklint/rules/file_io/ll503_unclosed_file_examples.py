"""LL503's examples: handles opened per request, given to helpers, borrowers and callers."""

from leaklint.rule import Invalid, Valid
from leaklint.rules.file_io._common import STREAM_APP

LOGS = {"app/__init__.py": "", "app/logs.py": """
import json

LOG = "/var/log/app.jsonl"


def open_log():
    return open(LOG, "a")


def append(handle, record):
    handle.write(json.dumps(record) + "\\n")


def close_log(handle):
    handle.close()
"""}

VALID = [
    STREAM_APP + """
@app.get("/s")
def s(p: str):
    def chunks():
        with open(p, "rb") as f:
            yield from f
    return StreamingResponse(chunks())
""",
    STREAM_APP + """
@app.get("/t")
def t(p: str):
    f = open(p)
    try:
        return f.readline()
    finally:
        f.close()
""",
    # the handle is returned to the caller, who owns it
    STREAM_APP + """
def open_log(p):
    f = open(p)
    return f

@app.get("/u")
def u():
    with open_log("x") as f:
        return f.readline()
""",
    # not a handler: SIM115's business, not ours
    """
def read_config(p):
    f = open(p)
    data = f.read()
    f.close()
    return data
""",
    # handed to an ExitStack / closing(): owned
    STREAM_APP + """
import contextlib

@app.get("/v")
def v(p: str):
    with contextlib.ExitStack() as stack:
        f = stack.enter_context(open(p))
        g = open(p)
        stack.callback(g.close)
        return f.read() + g.read()
""",
    # `open` shadowed by a local function
    STREAM_APP + """
@app.get("/w")
def w(p: str):
    def open(x):
        return x
    f = open(p)
    return StreamingResponse(f)
""",
    # an HTTP client that is given the path, not a handle
    STREAM_APP + """
import httpx

@app.get("/x")
async def x(p: str):
    async with httpx.AsyncClient() as client:
        with open(p, "rb") as f:
            await client.post("http://u", content=f.read())
""",
    # a helper of another module opens it, the handler closes it in `finally` with another helper
    Valid("""
from fastapi import FastAPI
from app.logs import append, close_log, open_log

app = FastAPI()

@app.post("/events")
def events(record: dict):
    log = open_log()
    try:
        append(log, record)
    finally:
        close_log(log)
""", files=LOGS, path="app/main.py"),
    # json.dump into a handle managed by `with`
    STREAM_APP + """
import json

@app.post("/save")
def save(data: dict):
    with open("/tmp/out.json", "w") as out:
        json.dump(data, out)
""",
]

VALID.append(STREAM_APP + """
from PIL import Image

@app.get("/images/size")
def image_size(path: str):
    with open(path, "rb") as handle:
        return {"size": Image.open(handle).size}
""")

INVALID = [
    # Pillow reads lazily from a file object it is given and leaves closing it to the caller
    Invalid(STREAM_APP + """
from PIL import Image

@app.get("/images/size")
def image_size(path: str):
    return {"size": Image.open(open(path, "rb")).size}
""", line=10, message="File handle is given to `Image.open`, which never closes it"),
    Invalid(STREAM_APP + """
import requests

@app.post("/forward")
def forward(path: str):
    f = open(path, "rb")
    r = requests.post("http://upstream", files={"file": f})
    f.close()
    return r.json()
""", line=10, column=9, message="`f` is given to `requests.post`, which never closes it"),
    Invalid(STREAM_APP + """
import httpx as hx

@app.post("/push")
async def push(path: str):
    async with hx.AsyncClient() as client:
        await client.post("http://u", files={"f": open(path, "rb")})
""", line=11, column=51, message="given to `client.post`, which never closes it"),
    Invalid(STREAM_APP + """
@app.get("/video")
def video(path: str):
    return StreamingResponse(open(path, "rb"), media_type="video/mp4")
""", line=8, column=30, message="given to `StreamingResponse`"),
    Invalid(STREAM_APP + """
import aiofiles

async def load(p):
    f = await aiofiles.open(p)
    return len(await f.read())

@app.get("/n")
async def n():
    return await load("x")
""", line=9, column=15, message="`f` is never closed"),
    Invalid("""
from app.web import router
import io

@router.get("/log")
def log():
    handle = io.open("/var/log/app.log")
    return handle.readlines()[-10:]
""", files={"app/__init__.py": "", "app/web.py": "from fastapi import APIRouter\nrouter = APIRouter()\n"},
            path="app/views.py", line=6, column=14),
    # handed inline to a call that only writes to it
    Invalid(STREAM_APP + """
import json

@app.post("/save")
def save(data: dict):
    json.dump(data, open("/tmp/out.json", "w"))
""", line=10, message="File handle is given to `json.dump`, which never closes it"),
    # returned by a helper of another module; the handler only borrows it through `append`
    Invalid("""
from fastapi import FastAPI
from app.logs import append, open_log

app = FastAPI()

@app.post("/events")
def events(record: dict):
    log = open_log()
    append(log, record)
""", files=LOGS, path="app/main.py", line=8, message="File `log` is never closed"),
]
