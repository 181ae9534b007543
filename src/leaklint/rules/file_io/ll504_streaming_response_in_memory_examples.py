"""LL504's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid
from leaklint.rules.file_io._common import STREAM_APP

REPORTS = {"app/__init__.py": "", "app/reports.py": """
import csv
import io


def export_report():
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[1, 2], [3, 4]])
    buffer.seek(0)
    return buffer


def iter_rows():
    for i in range(10):
        yield f"{i},{i * i}\\n"
"""}


VALID = [
    # a module-level service hands back an open file: StreamingResponse reads it in chunks
    """
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


class Store:
    async def open_blob(self, key: str):
        return open(f"/blobs/{key}", "rb")


store = Store()


@app.get("/blobs/{key}")
async def blob(key: str):
    handle = await store.open_blob(key)
    return StreamingResponse(handle, media_type="application/octet-stream")
""",
        STREAM_APP + """
def rows():
    for i in range(10):
        yield f"{i}\\n"

@app.get("/csv")
def csv():
    return StreamingResponse(rows(), media_type="text/csv")
""",
        STREAM_APP + """
from fastapi import UploadFile

@app.post("/echo")
async def echo(file: UploadFile):
    return StreamingResponse(file.file)
""",
        # a local name BytesIO that is not io's
        STREAM_APP + """
class BytesIO:
    def __init__(self, path):
        self.path = path
    def __iter__(self):
        yield b""

@app.get("/b")
def b():
    return StreamingResponse(BytesIO("x"))
""",
        # the buffer name is rebound to a real stream on one path
        STREAM_APP + """
import io

@app.get("/c")
def c(big: bool):
    body = io.BytesIO(b"small")
    if big:
        body = open("/big", "rb")
    return StreamingResponse(body)
""",
        # one SSE event built by a helper on the error path of an event stream
        """
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()

@app.get("/chat")
async def chat(prompt: str):
    try:
        session = await open_session(prompt)
    except ValueError as exc:
        return StreamingResponse(iter([error_event(exc)]), media_type="text/event-stream")
    return StreamingResponse(session.events(), media_type="text/event-stream")
""",
        # one SSE event written inline on the error path of an event stream
        STREAM_APP + """
@app.get("/events")
async def events(topic: str):
    if not topic:
        return StreamingResponse(iter([f"event: error\\ndata: no topic\\n\\n"]), media_type="text/event-stream")
    return StreamingResponse(iter([]), media_type="text/event-stream")
""",
        # one value another component produced whole (a stored document, a converter's output):
        # `Response(content=...)` would hold the same bytes, streaming cannot help
        STREAM_APP + """
import io

@app.get("/documents/{doc_id}.md")
async def markdown(doc_id: int):
    document = await load_document(doc_id)
    return StreamingResponse(io.BytesIO(document.content.encode()), media_type="text/markdown")

@app.get("/documents/{doc_id}.pdf")
async def pdf(doc_id: int):
    converted = await convert_to_pdf(doc_id)
    return StreamingResponse(iter([converted]), media_type="application/pdf")

@app.get("/logo")
def logo():
    return StreamingResponse(io.BytesIO(b"GIF89a"), media_type="image/gif")
""",
        # the helper returns a generator that produces the rows lazily
        Valid("""
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from app.reports import iter_rows

app = FastAPI()

@app.get("/export")
def export():
    return StreamingResponse(iter_rows(), media_type="text/csv")
""", files=REPORTS, path="app/main.py"),
]

INVALID = [
        Invalid(STREAM_APP + """
import io

@app.get("/export")
def export():
    buf = io.BytesIO()
    buf.write(b"a,b\\n")
    buf.seek(0)
    return StreamingResponse(buf, media_type="text/csv")
""", line=13, column=30, message="fed `buf` (an `io.BytesIO`)"),
        Invalid(STREAM_APP + """
import json

@app.get("/all")
def all_rows(rows: list):
    return StreamingResponse(iter([json.dumps(rows)]))
""", line=10, column=30, message="`iter()` of a list"),
        Invalid("""
import orjson
from io import BytesIO as B
from starlette.responses import StreamingResponse as SR

async def rows(request):
    found = await load_rows(request)
    return SR(content=B(orjson.dumps(found)), media_type="application/json")
""", line=7, column=23, message="an `io.BytesIO`"),
        Invalid("""
from app.web import Streaming

def chunks(header, cells):
    return Streaming([header, ",".join(cells)])
""", files={"app/__init__.py": "", "app/web.py": "from fastapi.responses import StreamingResponse as Streaming\n"},
            path="app/chunks.py", line=4, column=22, message="a list"),
        # rows written into the buffer by a csv writer: the body could have been streamed row by row
        Invalid(STREAM_APP + """
import csv
import io

@app.get("/export")
def export(rows: list):
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(row)
    out.seek(0)
    return StreamingResponse(out, media_type="text/csv")
""", line=16, column=30, message="fed `out` (an `io.StringIO`)"),
        # the buffer is built by a helper of another module
        Invalid("""
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from app.reports import export_report

app = FastAPI()

@app.get("/export")
def export():
    return StreamingResponse(export_report(), media_type="text/csv")
""", files=REPORTS, path="app/main.py", line=9, column=30, message="the in-memory buffer that `export_report()` returns"),
    # the buffer comes from a method of a module-level service, awaited into a local
    Invalid("""
import io
import zipfile

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()


class BundleService:
    async def pack(self, names: list) -> io.BytesIO:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name in names:
                archive.writestr(name, name * 1000)
        buffer.seek(0)
        return buffer


bundles = BundleService()


@app.get("/bundle")
async def bundle(names: str):
    packed = await bundles.pack(names.split(","))
    return StreamingResponse(packed, media_type="application/zip")
""", line=26, column=30, message="the in-memory buffer that `bundles.pack()` returns"),
]
