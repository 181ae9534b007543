"""LL502's examples: whole files read into memory to answer a request."""

from leaklint.rule import Invalid

RESPONSE_APP = """
from fastapi import FastAPI
from fastapi.responses import Response

app = FastAPI()
"""

VALID = [
    RESPONSE_APP + """
from fastapi.responses import FileResponse

@app.get("/f")
def f(name: str):
    return FileResponse(name)
""",
    # files the application ships: the bundled frontend page and a default icon
    RESPONSE_APP + """
import os
from fastapi.responses import HTMLResponse

FRONTEND = os.path.join(os.path.dirname(__file__), "..", "frontend")
DEFAULT_ICON = "/app/static/unknown.png"

@app.get("/")
def index():
    page = os.path.join(FRONTEND, "index.html")
    with open(page, encoding="utf-8") as f:
        return HTMLResponse(f.read())

@app.get("/icons/{name}")
def icon(name: str):
    with open(DEFAULT_ICON, "rb") as f:
        return Response(f.read(), media_type="image/png")
""",
    # read whole, but parsed: the response body is not the file
    RESPONSE_APP + """
import json

@app.get("/config")
def config():
    with open("config.json") as f:
        data = json.loads(f.read())
    return data
""",
    # a helper that is not a route returns the bytes to its caller
    """
from pathlib import Path

def load_template(name):
    return Path(name).read_text()
""",
    # a local class called Response is not Starlette's
    """
from pathlib import Path

class Response:
    def __init__(self, body):
        self.body = body

def serve(p):
    return Response(Path(p).read_bytes())
""",
    # the content is a generator over the open file: it streams
    """
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()

@app.get("/s")
def s(p: str):
    def chunks():
        with open(p, "rb") as f:
            yield from f
    return StreamingResponse(chunks())
""",
    # a small fixed file (a template, a logo): its size is not the request's choice
    """
from pathlib import Path
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
def index(name: str):
    template = open("templates/index.html").read()
    logo = Path("static/logo.png").read_bytes()
    return {"html": template.replace("{name}", name), "logo": len(logo)}
""",
]

INVALID = [
    # anchored to the package, but the request names the file
    Invalid(RESPONSE_APP + """
import os

MEDIA = os.path.join(os.path.dirname(__file__), "media")

@app.get("/media/{name}")
def media(name: str):
    with open(os.path.join(MEDIA, name), "rb") as f:
        return Response(f.read())
""", line=13, column=25, message="reads the whole file into memory"),
    Invalid(RESPONSE_APP + """
@app.get("/report/{name}")
def report(name: str):
    # the report is large
    return Response(open(f"/reports/{name}", "rb").read(), media_type="application/pdf")
""", line=9, column=21, message="reads the whole file", fixed="""
from fastapi import FastAPI
from fastapi.responses import FileResponse, Response

app = FastAPI()

@app.get("/report/{name}")
def report(name: str):
    # the report is large
    return FileResponse(f"/reports/{name}", media_type="application/pdf")
"""),
    Invalid("""
from pathlib import Path
from starlette.responses import Response as R

async def download(request):
    return R(content=Path("big.bin").read_bytes(), headers={"x": "1"})
""", line=5, column=22, fixed="""
from pathlib import Path
from starlette.responses import FileResponse, Response as R

async def download(request):
    return FileResponse(path=Path("big.bin"), headers={"x": "1"})
"""),
    Invalid(RESPONSE_APP + """
import aiofiles

@app.get("/log")
async def log():
    async with aiofiles.open("/var/log/app.log", "rb") as f:
        data = await f.read()
    return Response(data, media_type="text/plain")
""", line=11, column=22),
    # returned straight from a route
    Invalid("""
from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

router = APIRouter()

@router.get("/dump", response_class=PlainTextResponse)
def dump(path: str):
    with open(path) as handle:
        return handle.read()
""", line=9, column=16),
    # Response re-exported by a linted module
    Invalid("""
from app.web import Resp

def send(p):
    body = open(p, "rb").read()
    return Resp(body)
""", files={"app/__init__.py": "", "app/web.py": "from fastapi import Response as Resp\n"},
            path="app/send.py", line=4, column=12),
    # the seed's download handler: the bytes are not the body, but the request picks the file
    Invalid("""
from pathlib import Path
from fastapi import FastAPI
from fastapi.responses import FileResponse

app = FastAPI()

@app.get("/download/{file_id}")
async def download_file(file_id: str):
    content = open(file_id, "rb").read()
    return FileResponse(file_id)

@app.get("/size/{name}")
def size(name: str):
    return {"size": len(Path("/data", name).read_bytes())}
""", line=9, count=2, message="reads a whole file named by the request into memory in `download_file`"),
]
