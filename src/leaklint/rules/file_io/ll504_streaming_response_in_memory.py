"""LL504 streaming-response-in-memory: a `StreamingResponse` whose content is already in memory."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.rule import Invalid, Valid
from leaklint.rules.file_io._common import STREAM_APP, _FileRule
from leaklint.semantics import buffers, files
from leaklint.semantics import flow
from leaklint.semantics.names import matches


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


class StreamingResponseInMemory(_FileRule):
    """## What it does
    Finds a `StreamingResponse` whose content the code first builds fully in memory: an
    `io.BytesIO` / `io.StringIO` that it writes into (`csv.writer(buf)`, `zipfile.ZipFile(buf, "w")`,
    `buf.write(...)`) or fills with data it serialises (`json.dumps(rows)`, `"".join(lines)`,
    `other.getvalue()`), also through a variable, or the buffer a project helper in any module
    returns (`StreamingResponse(export_report())`); `iter([...])`, a list or a tuple of such a
    serialised body. One value another component produced whole (`io.BytesIO(document.content)`,
    `iter([converted_pdf])`, a literal) is not reported: `Response` would hold the same bytes.

    ## Why is this bad?
    `StreamingResponse` exists so that a body that does not fit in memory can be sent piece by
    piece. Fed a buffer, it buys nothing: the whole body is held until the last byte is sent (a
    `BytesIO` is then iterated line by line, which for binary data can be one huge "line"), and the
    response loses its `Content-Length`. A plain `Response(content=data)` is simpler and no worse;
    streaming from a generator that produces the data lazily is better.

    ## Example
    ```python
    @app.get("/export")
    def export():
        data = build_csv()
        return StreamingResponse(io.BytesIO(data), media_type="text/csv")
    ```

    Use instead:
    ```python
    @app.get("/export")
    def export():
        return StreamingResponse(iter_csv_rows(), media_type="text/csv")
    ```
    or `Response(content=build_csv(), media_type="text/csv")`.
    """

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return files.calls_response(summary, project, "streaming")

    code = "LL504"
    name = "streaming-response-in-memory"
    message = "`StreamingResponse` is fed {what}, which is already fully in memory: stream from a generator or use `Response(content=...)`"

    valid = [
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
    invalid = [
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
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if files.last_name(node.func) in ("", "open") or files.response_kind(self.ctx, node) != "streaming":
            return
        arg = files.content_arg(node)
        if arg is None:
            return
        if _event_stream(node) and _single_item(self.ctx, arg.value):
            return  # one event (an error on the setup path) sent as an event stream: the protocol, not a body
        fn = self.ctx.current_function()
        index = flow.index_of(self.ctx, fn) if fn is not None else None
        what, built = self._in_memory(arg.value), False
        if what is not None:
            built = what.startswith("the in-memory buffer") or buffers.built_here(self.ctx, index, arg.value)
        elif isinstance(arg.value, cst.Name) and index is not None:
            binders = index.assignments(arg.value.value)
            kinds, built = set(), False
            for binder in binders:
                binder = index.parent.get(binder) if isinstance(binder, cst.AssignTarget) else binder
                value = binder.value if isinstance(binder, cst.Assign) else None
                kinds.add(self._in_memory(value) if value is not None else None)
                built = built or (value is not None and buffers.built_here(self.ctx, index, value, arg.value.value))
            if binders and None not in kinds:
                what = f"`{arg.value.value}` ({sorted(kinds)[0]})"
        if what is not None and built:
            self.report(arg.value, what=what)

    def _in_memory(self, value: cst.BaseExpression) -> Optional[str]:
        if isinstance(value, cst.List):
            return "a list"
        if isinstance(value, cst.ListComp):
            return "a list comprehension"
        if isinstance(value, cst.Tuple):
            return "a tuple"
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return "a string literal"
        if isinstance(value, cst.Call):
            names = self.ctx.qualify(value.func)
            if matches(names, files.BYTES_IO):
                return f"an `io.{sorted(names & files.BYTES_IO)[0].rpartition('.')[2]}`"
            if "builtins.iter" in names and len(value.args) == 1 and \
                    isinstance(value.args[0].value, (cst.List, cst.Tuple)) and not _one_inline_event(value.args[0].value):
                return "`iter()` of a list"
            returns = self.ctx.project.ownership.returns
            helper = next((n for n in sorted(names) if returns.get(n, ("",))[0] == "buffer"), None)
            if helper is not None:  # ``StreamingResponse(export_report())``, ``export_report() -> BytesIO``
                return f"the in-memory buffer that `{self.ctx.code(value.func)}()` returns"
        return None


def _one_inline_event(items: cst.BaseExpression) -> bool:
    """``iter([f"data: {error}\\n\\n"])``: one event written inline (an SSE error on an event-stream
    endpoint's failure path) is a message, not a body held in memory."""
    elements = getattr(items, "elements", ())
    if not elements:
        return True  # an empty stream holds nothing
    if len(elements) != 1:
        return False
    value = elements[0].value
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and value.func.attr.value == "encode":
        value = value.func.value
    return isinstance(value, (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString))


def _event_stream(call: cst.Call) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "media_type" and \
                isinstance(arg.value, cst.SimpleString):
            return "event-stream" in arg.value.evaluated_value
    return False


def _single_item(ctx, value: cst.BaseExpression) -> bool:
    """``iter([x])`` / ``[x]``: a stream of one item."""
    if isinstance(value, cst.Call) and len(value.args) == 1 and "builtins.iter" in ctx.qualify(value.func):
        value = value.args[0].value
    return isinstance(value, (cst.List, cst.Tuple)) and len(value.elements) <= 1
