"""LL5xx: whole-body reads and file handling in upload/download handlers."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, ImportSpec, Invalid, Rule
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex
from leaklint.semantics.names import matches

LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
CLEANUP_CALLS = frozenset({"remove", "unlink", "rmtree", "rmdir", "add_task", "BackgroundTask", "callback",
                           "register", "finalize", "move", "rename", "replace", "cleanup"})


class _FileRule(Rule):
    """Base: the rules that only look inside handlers (LL501, LL503, LL506)."""

    family = "file-io"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return files.has_handlers(summary, project)


def _name_available(ctx, index: Optional[FunctionIndex], name: str, qualified: str) -> bool:
    """Can a fix write ``name`` meaning ``qualified`` (already imported as that, or free to import)?"""
    current = ctx.qualify(cst.Name(name))
    if current:
        return qualified in current
    if name in ctx.summary.definitions or name in ctx.summary.imports:
        return False
    return index is None or not any(index.is_store(n) for n in index.names(name))


def _unwrap_await(node: cst.CSTNode) -> cst.CSTNode:
    return node.expression if isinstance(node, cst.Await) else node


def _outer(index: FunctionIndex, node: cst.CSTNode) -> cst.CSTNode:
    """``node`` or the ``await node`` around it."""
    parent = index.parent.get(node)
    return parent if isinstance(parent, cst.Await) else node


def _simple_assign_line(index: FunctionIndex, value: cst.CSTNode) -> Optional[cst.SimpleStatementLine]:
    parent = index.parent.get(value)
    line = index.parent.get(parent) if isinstance(parent, cst.Assign) else None
    if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        return line
    return None


def _loops_around(index: FunctionIndex, node: cst.CSTNode) -> set:
    return {id(a) for a in index.ancestors(node) if isinstance(a, LOOPS)}


def _has_comment(line: cst.SimpleStatementLine) -> bool:
    return any(e.comment is not None for e in line.leading_lines) or line.trailing_whitespace.comment is not None


UPLOAD_APP = """
from fastapi import FastAPI, UploadFile

app = FastAPI()
"""


class WholeUploadRead(_FileRule):
    """## What it does
    Finds an upload read whole into memory: `await file.read()` / `file.file.read()` with no size
    (or a negative one) on a `fastapi.UploadFile` / `starlette.datastructures.UploadFile` (a
    parameter annotated so, also inside `Annotated`/`Optional`/`list[...]`, a `File(...)` default, or
    an item of `await request.form()`), in a route handler, dependency or middleware or a function of
    the same module they call; and `await request.body()` there when the bytes are only passed on
    (written to a file, sent to an HTTP client, put in a response) rather than parsed.

    ## Why is this bad?
    Starlette spools uploads to disk past 1 MB so that the process does not hold them. `read()`
    pulls the whole body back into one `bytes` object: a 2 GB upload becomes 2 GB of RSS, and a few
    concurrent uploads kill the worker. Reading in chunks (`read(CHUNK)` in a loop),
    `shutil.copyfileobj(file.file, out)` or `request.stream()` keep memory flat.

    ## Example
    ```python
    @app.post("/upload")
    async def upload(file: UploadFile):
        contents = await file.read()
        with open(f"/data/{file.filename}", "wb") as out:
            out.write(contents)
    ```

    Use instead:
    ```python
    @app.post("/upload")
    async def upload(file: UploadFile):
        with open(f"/data/{file.filename}", "wb") as out:
            shutil.copyfileobj(file.file, out)
    ```

    ## Fix safety
    Offered only where the bytes are written to a file and used for nothing else (`out.write(await
    file.read())`, or a variable read once by such a write): the fix copies `file.file` in 64 KiB
    chunks with `shutil.copyfileobj`. It is **unsafe**: the copy now runs synchronously in the
    event loop of an `async` handler instead of in Starlette's thread pool, and it starts from the
    file's current position just like `read()` does, but a custom `UploadFile` subclass that
    overrides `read()` is bypassed.

    ## Known problems
    An unannotated Starlette endpoint parameter (`async def endpoint(request)`) is not known to be
    a request. A helper in another module that reads an upload it is given is not reported (it may
    serve `bytes = File()`-style code that wants the bytes). A request body that is parsed (JSON,
    protobuf, a signature check, decompression) is not reported: the parser needs all of it.
    """

    code = "LL501"
    name = "whole-upload-read"
    message = "`{expr}` reads the whole {what} into memory: {advice}"
    fix_title = "Copy the upload to the file in chunks with `shutil.copyfileobj`"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
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
        # `file` is a plain string parameter here, and `bytes = File()` is FastAPI's own choice
        """
from fastapi import FastAPI, File

app = FastAPI()

@app.post("/a")
async def a(name: str, data: bytes = File()):
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
    ]
    invalid = [
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
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("read", "body"):
            return
        fn = self.ctx.current_function()
        if fn is None or not web.runs_per_request(self.ctx, fn):
            return
        index = flow.index_of(self.ctx, fn)
        uploads, requests = files.upload_and_request_names(self.ctx, fn, index)
        receiver = func.value
        if func.attr.value == "read":
            if not (uploads and files.is_whole_read(node)):
                return
            if isinstance(receiver, cst.Name) and receiver.value in uploads:
                upload = receiver.value
            elif isinstance(receiver, cst.Attribute) and receiver.attr.value == "file" and \
                    isinstance(receiver.value, cst.Name) and receiver.value.value in uploads:
                upload = receiver.value.value
            else:
                return
            self.report(node, expr=self.ctx.code(node), what="upload",
                        advice=f"copy it in chunks (`shutil.copyfileobj({upload}.file, out)`) or read with a size limit",
                        fix=self._fix(index, node, upload))
        elif not node.args and isinstance(receiver, cst.Name) and receiver.value in requests and \
                self._passed_through(index, node):
            self.report(node, expr=self.ctx.code(node), what="request body",
                        advice="iterate `request.stream()` and pass the chunks on")

    def _passed_through(self, index: FunctionIndex, body_call: cst.Call) -> bool:
        """Are the body bytes an opaque payload (written to a file, sent upstream, sent back) rather
        than parsed? A parsed body (JSON, protobuf, a signature check) needs all of it anyway."""
        outer = _outer(index, body_call)
        uses: List[cst.CSTNode] = [outer]
        name = flow.assigned_name(index, body_call)
        if name is not None:
            uses = list(index.loads(name))
        elif self._consumer(index, outer) is None:
            return False
        kinds = [self._consumer(index, use) for use in uses]
        return "sink" in kinds and "parsed" not in kinds

    def _consumer(self, index: FunctionIndex, value: cst.CSTNode) -> Optional[str]:
        """'sink' (file write, HTTP client call, response body), 'parsed' (any other call), else None."""
        node = value
        parent = index.parent.get(node)
        while isinstance(parent, (cst.BooleanOperation, cst.IfExp)):  # `data=body or None`
            node, parent = parent, index.parent.get(parent)
        if not isinstance(parent, cst.Arg):
            return None
        call = index.parent.get(parent)
        if not isinstance(call, cst.Call):
            return None
        if files.last_name(call.func) == "write" or files.is_http_client_call(self.ctx, index, call) or (
                files.content_arg(call) is parent and files.response_kind(self.ctx, call) is not None):
            return "sink"
        if "builtins.len" in self.ctx.qualify(call.func):
            return None
        return "parsed"

    def _fix(self, index: FunctionIndex, read: cst.Call, upload: str) -> Optional[Fix]:
        if not _name_available(self.ctx, index, "shutil", "shutil"):
            return None
        outer = _outer(index, read)
        write = self._write_of(index, outer)
        removed = None
        if write is None:
            line = _simple_assign_line(index, outer)
            name = flow.assigned_name(index, read)
            if line is None or name is None or _has_comment(line) or len(index.assignments(name)) != 1:
                return None
            loads = index.loads(name)
            if len(loads) != 1:
                return None
            write = self._write_of(index, loads[0])
            if write is None or not self._follows(index, line, write):
                return None
            removed = line
        target = write.func.value  # type: ignore[attr-defined]
        new = cst.parse_expression(f"shutil.copyfileobj({upload}.file, {self.ctx.code(target)})",
                                   config=self.ctx.module.config_for_parsing)
        replacements: dict = {write: new}
        if removed is not None:
            replacements[removed] = cst.RemoveFromParent()
        return Fix(self.fix_title or "", Applicability.UNSAFE, replacements, imports=[ImportSpec("shutil")])

    @staticmethod
    def _write_of(index: FunctionIndex, value: cst.CSTNode) -> Optional[cst.Call]:
        """``out.write(value)`` as a statement of its own (not awaited: an async file cannot be a target)."""
        arg = index.parent.get(value)
        call = index.parent.get(arg)
        if not (isinstance(arg, cst.Arg) and arg.keyword is None and isinstance(call, cst.Call)
                and len(call.args) == 1 and isinstance(call.func, cst.Attribute)
                and call.func.attr.value == "write" and isinstance(call.func.value, cst.Name)):
            return None
        return call if isinstance(index.parent.get(call), cst.Expr) else None

    @staticmethod
    def _follows(index: FunctionIndex, line: cst.SimpleStatementLine, write: cst.Call) -> bool:
        """The write is in a later sibling statement (or nested in one), and in no extra loop."""
        block = index.parent.get(line)
        if not isinstance(block, cst.IndentedBlock) or len(block.body) < 2:
            return False
        statements = list(block.body)
        position = next(i for i, s in enumerate(statements) if s is line)
        if not any(index.contains(s, write) for s in statements[position + 1:]):
            return False
        return _loops_around(index, write) <= _loops_around(index, line)


RESPONSE_APP = """
from fastapi import FastAPI
from fastapi.responses import Response

app = FastAPI()
"""


class WholeFileResponse(_FileRule):
    """## What it does
    Finds a file read whole into memory to answer a request: `open(p, "rb").read()`,
    `Path(p).read_bytes()` / `read_text()`, or `f.read()` of a `with open(p) as f` (sync or
    `aiofiles`), whose result becomes the body of a FastAPI/Starlette `Response` (also
    `PlainTextResponse`/`HTMLResponse`) or is returned from a route. An `open()` inside the `return`
    statement itself is included (ruff and pylint skip those).

    ## Why is this bad?
    Each download holds the whole file in memory for as long as the response is being sent; a
    few concurrent downloads of a large file multiply it. `FileResponse(path)` streams the file in
    64 KiB chunks, adds `Content-Length`, `ETag`/`Last-Modified` and answers range requests.

    ## Example
    ```python
    @app.get("/report")
    def report():
        return Response(open("report.pdf", "rb").read(), media_type="application/pdf")
    ```

    Use instead:
    ```python
    @app.get("/report")
    def report():
        return FileResponse("report.pdf", media_type="application/pdf")
    ```

    ## Fix safety
    Offered for `return Response(open(p, "rb").read(), ...)` and `return Response(Path(p).read_bytes(),
    ...)`: the other arguments keep their meaning (`status_code`, `headers`, `media_type`,
    `background` are `FileResponse`'s too). It is **unsafe**: the file is now read when the
    response is sent, not when it is built (deleting or rewriting it in between changes the answer),
    and `FileResponse` guesses a `Content-Type` from the file name when none is given.

    ## Known problems
    The read is followed through one local variable; a body assembled from several reads, or read
    in another function, is not reported.
    """

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return files.has_handlers(summary, project) or files.calls_response(summary, project, "plain")

    code = "LL502"
    name = "whole-file-response"
    message = "`{expr}` reads the whole file into memory to answer the request: return `FileResponse(path)`, which streams it"
    fix_title = "Return a `FileResponse` of the path"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        RESPONSE_APP + """
from fastapi.responses import FileResponse

@app.get("/f")
def f(name: str):
    return FileResponse(name)
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
    ]
    invalid = [
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
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("read", "read_bytes", "read_text"):
            return
        fn = self.ctx.current_function()
        if fn is None or not self._reads_whole_file(node, fn):
            return
        index = flow.index_of(self.ctx, fn)
        outer = _outer(index, node)
        sink = self._sink(index, fn, outer)
        if sink is None:
            name = flow.assigned_name(index, node)
            if name is None or len(index.assignments(name)) != 1:
                return
            sink = next((s for s in (self._sink(index, fn, load) for load in index.loads(name)) if s is not None),
                        None)
            if sink is None:
                return
            fix = None
        else:
            fix = self._fix(index, node, sink)
        self.report(node, expr=self.ctx.code(node), fix=fix)

    def _reads_whole_file(self, call: cst.Call, fn: cst.FunctionDef) -> bool:
        attr = call.func.attr.value  # type: ignore[attr-defined]
        receiver = call.func.value  # type: ignore[attr-defined]
        if attr in ("read_bytes", "read_text"):
            return not any(a.keyword is None for a in call.args)
        if not files.is_whole_read(call):
            return False
        if files.is_open_call(self.ctx, receiver):
            return True
        if not isinstance(receiver, cst.Name):
            return False
        index = flow.index_of(self.ctx, fn)
        binders = index.assignments(receiver.value)
        if len(binders) != 1 or not isinstance(binders[0], cst.AsName):
            return False
        item = index.parent.get(binders[0])
        return isinstance(item, cst.WithItem) and (files.is_open_call(self.ctx, item.item)
                                                   or files.is_async_open_call(self.ctx, item.item))

    def _sink(self, index: FunctionIndex, fn: cst.FunctionDef, value: cst.CSTNode) -> Optional[cst.CSTNode]:
        """The response call (or the route's ``return``) that ``value`` becomes the body of."""
        parent = index.parent.get(value)
        if isinstance(parent, cst.Return):
            return parent if web.roles_of(self.ctx, fn).route else None
        call = index.parent.get(parent)
        if isinstance(parent, cst.Arg) and isinstance(call, cst.Call) and files.content_arg(call) is parent and \
                files.response_kind(self.ctx, call) == "plain":
            return call
        return None

    def _fix(self, index: FunctionIndex, read: cst.Call, response: cst.CSTNode) -> Optional[Fix]:
        if not isinstance(response, cst.Call) or not isinstance(index.parent.get(response), cst.Return):
            return None
        if files.last_name(response.func) != "Response" and not isinstance(response.func, cst.Name):
            return None
        qualified = sorted(n for n in self.ctx.qualify(response.func) if files.RESPONSE_CLASSES.get(n))
        if not qualified or not qualified[0].endswith(".Response"):
            return None
        module = "starlette.responses" if qualified[0].startswith("starlette") else "fastapi.responses"
        if not _name_available(self.ctx, index, "FileResponse", f"{module}.FileResponse") and \
                not _name_available(self.ctx, index, "FileResponse", f"{_other(module)}.FileResponse"):
            return None
        receiver = read.func.value  # type: ignore[attr-defined]
        if read.func.attr.value == "read" and files.is_open_call(self.ctx, receiver):  # type: ignore[attr-defined]
            positional = [a for a in receiver.args if a.keyword is None and not a.star]
            if len(receiver.args) != 2 or len(positional) != 2 or files.open_mode(receiver) != "rb":
                return None
            path = positional[0].value
        elif read.func.attr.value == "read_bytes" and not read.args and files.is_path_expr(self.ctx, receiver):
            path = receiver
        else:
            return None
        content = files.content_arg(response)
        args = []
        for arg in response.args:
            if arg is content:
                arg = arg.with_changes(value=path)
                if arg.keyword is not None:
                    arg = arg.with_changes(keyword=cst.Name("path"))
            args.append(arg)
        new = response.with_changes(func=cst.Name("FileResponse"), args=args)
        imported = bool(self.ctx.qualify(cst.Name("FileResponse")))
        return Fix(self.fix_title or "", Applicability.UNSAFE, {response: new},
                   imports=[] if imported else [ImportSpec(module, "FileResponse")])


def _other(module: str) -> str:
    return "fastapi.responses" if module.startswith("starlette") else "starlette.responses"


STREAM_APP = """
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
"""


class UnclosedFile(_FileRule):
    """## What it does
    Finds, in a route handler, dependency or middleware (and the functions of the same module they
    call), a file opened with `open()` / `io.open()` / `aiofiles.open()` that is not closed on every
    path: bound to a name outside `with` and not closed in a `finally`, or handed to something that
    never closes it: an HTTP client call (`requests.post(url, files={"f": open(p, "rb")})`,
    `client.post(..., content=f)`) or a `StreamingResponse(open(p, "rb"))`.

    ## Why is this bad?
    A request that fails between `open()` and `close()` leaves the descriptor open until the
    garbage collector finds the file object; under load the process runs out of file descriptors
    (`OSError: [Errno 24] Too many open files`). Neither `requests`/`httpx` nor Starlette's
    `StreamingResponse` closes a file object you give them.

    ## Example
    ```python
    @app.post("/forward")
    def forward(path: str):
        f = open(path, "rb")
        r = requests.post(URL, files={"file": f})
        f.close()
        return r.json()
    ```

    Use instead:
    ```python
    @app.post("/forward")
    def forward(path: str):
        with open(path, "rb") as f:
            r = requests.post(URL, files={"file": f})
        return r.json()
    ```
    and, for a streamed file, a generator that opens it with `with` (FastAPI's documented pattern).

    ## Known problems
    Only handlers and the functions they call in the same module are checked, to keep precision; a
    handle returned, yielded, stored on an object or passed to any other callable is assumed to be
    owned by the receiver. An `open()` whose handle is dropped at once (`open(p).read()`) is left to
    LL502 and to ruff's SIM115, which overlaps with this rule for the `f = open(p)` shape.
    """

    code = "LL503"
    name = "unclosed-file"
    message = "File {what} {problem}; open it with `with`"
    overlaps = "ruff SIM115 / pylint R1732 (consider-using-with) report `open()` outside `with` anywhere"

    valid = [
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
    ]
    invalid = [
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
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if files.last_name(node.func) not in ("open", "open_file"):
            return
        is_async = files.is_async_open_call(self.ctx, node)
        if not is_async and not files.is_open_call(self.ctx, node):
            return
        fn = self.ctx.current_function()
        if fn is None or not web.runs_per_request(self.ctx, fn):
            return
        index = flow.index_of(self.ctx, fn)
        value = _outer(index, node)
        sink = self._sink(index, value)
        if sink is not None:
            self.report(node, what="handle", problem=f"is given to `{sink}`, which never closes it")
            return
        name = flow.assigned_name(index, node)
        if name is None or len(index.assignments(name)) != 1:
            return
        sinks: List[str] = []
        for load in index.loads(name):
            parent = index.parent.get(load)
            if isinstance(parent, cst.Attribute):
                if isinstance(index.parent.get(parent), cst.Arg):
                    return  # f.close handed to a callback
                continue
            sink = self._sink(index, load)
            if sink is not None:
                sinks.append(sink)
            elif self._owned_by(index, load):
                return
        closes = [c for c in index.all(cst.Call) if flow.method_call(c, name, ("close", "aclose"))]
        if any(index.in_finally(c) for c in closes):
            return
        if sinks:
            problem = f"is given to `{sinks[0]}`, which never closes it"
        else:
            problem = "is closed only on the happy path" if closes else "is never closed"
        self.report(node, what=f"`{name}`", problem=problem)

    def _owned_by(self, index: FunctionIndex, load: cst.Name) -> bool:
        """Returned, yielded, stored, aliased, used in ``with`` or passed to a callee that may own it."""
        parent = index.parent.get(load)
        if isinstance(parent, cst.Arg):
            call = index.parent.get(parent)
            return not (isinstance(call, cst.Call) and matches(self.ctx.qualify(call.func), files.BORROWERS))
        return isinstance(parent, (cst.Return, cst.Yield, cst.WithItem, cst.Element, cst.DictElement,
                                   cst.AssignTarget, cst.Assign, cst.AnnAssign, cst.StarredElement,
                                   cst.NamedExpr, cst.Tuple, cst.Lambda, cst.Subscript))

    def _sink(self, index: FunctionIndex, value: cst.CSTNode) -> Optional[str]:
        """The HTTP client call or ``StreamingResponse`` the handle is given to (directly or in a
        ``files={...}`` dict / tuple), if any."""
        node = value
        for _ in range(6):
            parent = index.parent.get(node)
            if isinstance(parent, (cst.Element, cst.DictElement, cst.Tuple, cst.List, cst.Dict)):
                node = parent
                continue
            if isinstance(parent, cst.Arg):
                call = index.parent.get(parent)
                if not isinstance(call, cst.Call):
                    return None
                if files.is_http_client_call(self.ctx, index, call):
                    return self.ctx.code(call.func)
                if node is value and files.content_arg(call) is parent and \
                        files.response_kind(self.ctx, call) == "streaming":
                    return "StreamingResponse"
            return None
        return None


class StreamingResponseInMemory(_FileRule):
    """## What it does
    Finds a `StreamingResponse` whose content is already fully in memory: `io.BytesIO(data)` /
    `io.StringIO(...)` (also a variable holding one), `iter([data])`, a list or tuple, or a bytes or
    str literal.

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
@app.get("/one")
def one(data: bytes):
    return StreamingResponse(iter([data]))
""", line=8, column=30, message="`iter()` of a list"),
        Invalid("""
from io import BytesIO as B
from starlette.responses import StreamingResponse as SR

async def img(request):
    png = b"..."
    return SR(content=B(png), media_type="image/png")
""", line=6, column=23, message="an `io.BytesIO`"),
        Invalid("""
from app.web import Streaming

def chunks():
    return Streaming(["a", "b"])
""", files={"app/__init__.py": "", "app/web.py": "from fastapi.responses import StreamingResponse as Streaming\n"},
            path="app/chunks.py", line=4, column=22, message="a list"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if files.last_name(node.func) in ("", "open") or files.response_kind(self.ctx, node) != "streaming":
            return
        arg = files.content_arg(node)
        if arg is None:
            return
        what = self._in_memory(arg.value)
        if what is None and isinstance(arg.value, cst.Name):
            fn = self.ctx.current_function()
            if fn is None:
                return
            index = flow.index_of(self.ctx, fn)
            binders = index.assignments(arg.value.value)
            kinds = set()
            for binder in binders:
                binder = index.parent.get(binder) if isinstance(binder, cst.AssignTarget) else binder
                kinds.add(self._in_memory(binder.value) if isinstance(binder, cst.Assign) else None)
            if binders and None not in kinds:
                what = f"`{arg.value.value}` ({sorted(kinds)[0]})"
        if what is not None:
            self.report(arg.value, what=what)

    def _in_memory(self, value: cst.BaseExpression) -> Optional[str]:
        if isinstance(value, cst.List):
            return "a list"
        if isinstance(value, cst.Tuple):
            return "a tuple"
        if isinstance(value, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return "a string literal"
        if isinstance(value, cst.Call):
            names = self.ctx.qualify(value.func)
            if matches(names, files.BYTES_IO):
                return f"an `io.{sorted(names & files.BYTES_IO)[0].rpartition('.')[2]}`"
            if "builtins.iter" in names and len(value.args) == 1 and \
                    isinstance(value.args[0].value, (cst.List, cst.Tuple)):
                return "`iter()` of a list"
        return None


FILE_APP = """
import tempfile
from fastapi import FastAPI
from fastapi.responses import FileResponse

app = FastAPI()
"""


def _cleans_up(ctx, index: FunctionIndex, binding: files.TempBinding) -> bool:
    """Removed, scheduled for removal, or moved away somewhere in the function."""
    for call in index.all(cst.Call):
        if files.last_name(call.func) not in CLEANUP_CALLS and \
                not matches(ctx.qualify(call.func), files.REMOVERS):
            continue
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        if any(files.refers_to(a.value, binding) for a in call.args) or \
                (receiver is not None and files.last_name(call.func) in ("unlink", "rmtree", "cleanup")
                 and files.refers_to(receiver, binding)):
            return True
    for assign in index.all(cst.Assign):  # response.background = BackgroundTask(...)
        if any(isinstance(t.target, cst.Attribute) and t.target.attr.value == "background" for t in assign.targets):
            return True
    return False


def _background_tasks_param(ctx, fn: cst.FunctionDef) -> bool:
    return any(matches(web.annotation_names(ctx, p), files.BACKGROUND) for p in web.handler_params(fn))


class FileResponseOfTempFile(_FileRule):
    """## What it does
    Finds a `FileResponse` that serves a temporary file made with
    `tempfile.NamedTemporaryFile(delete=False)`, `tempfile.mkstemp()` or inside
    `tempfile.mkdtemp()`, with no `background=` task to remove it and no other removal (`os.unlink`,
    `BackgroundTasks.add_task`, `shutil.move`...) in the function.

    ## Why is this bad?
    The file must outlive the handler (it is sent after the handler returns), so nothing removes
    it: every download leaves a file in `/tmp` until the disk (or a tmpfs, i.e. memory) fills up.

    ## Example
    ```python
    @app.get("/export")
    def export():
        tmp = tempfile.NamedTemporaryFile(delete=False, suffix=".zip")
        build_zip(tmp)
        return FileResponse(tmp.name)
    ```

    Use instead:
    ```python
    @app.get("/export")
    def export():
        tmp = tempfile.NamedTemporaryFile(delete=False, suffix=".zip")
        build_zip(tmp)
        return FileResponse(tmp.name, background=BackgroundTask(os.unlink, tmp.name))
    ```

    ## Fix safety
    The fix adds `background=BackgroundTask(os.unlink, <path>)` (`shutil.rmtree` of the directory
    for `mkdtemp`) and the imports. It is **unsafe**: code that reads the file after the response
    was sent (a cache, a second request) no longer finds it. No fix is offered when the handler has
    a `BackgroundTasks` parameter (FastAPI does not run those tasks for a response that has its own
    `background`) or when the path is not a plain name or `tmp.name`.
    """

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return files.may_use_tempfile(summary, project) and files.calls_response(summary, project, "file")

    code = "LL505"
    name = "file-response-of-temp-file"
    message = "`FileResponse` serves temporary file `{path}` with no `background=` cleanup: every download leaves a file on disk"
    fix_title = "Remove the file after sending with `background=BackgroundTask(...)`"
    fix_availability = FixAvailability.SOMETIMES

    valid = [
        FILE_APP + """
import os
from starlette.background import BackgroundTask

@app.get("/a")
def a():
    fd, path = tempfile.mkstemp()
    os.close(fd)
    return FileResponse(path, background=BackgroundTask(os.unlink, path))
""",
        FILE_APP + """
import os
from fastapi import BackgroundTasks

@app.get("/b")
def b(tasks: BackgroundTasks):
    tmp = tempfile.NamedTemporaryFile(delete=False)
    tmp.close()
    tasks.add_task(os.remove, tmp.name)
    return FileResponse(tmp.name)
""",
        # a regular file, and a delete=True temp file (another bug, but no leak)
        FILE_APP + """
@app.get("/c")
def c(name: str):
    return FileResponse(f"/srv/files/{name}")
""",
        # a local mkstemp that is not tempfile's
        FILE_APP.replace("import tempfile\n", "") + """
def mkstemp():
    return 0, "/srv/static/x"

@app.get("/d")
def d():
    fd, path = mkstemp()
    return FileResponse(path)
""",
        FILE_APP + """
import shutil

@app.get("/e")
def e():
    d = tempfile.mkdtemp()
    out = shutil.make_archive(d + "/x", "zip", "/data")
    response = FileResponse(out)
    response.background = None or shutil.rmtree
    return response
""",
    ]
    invalid = [
        Invalid(FILE_APP + """
@app.get("/export")
def export():
    tmp = tempfile.NamedTemporaryFile(delete=False, suffix=".zip")
    tmp.write(b"PK")
    tmp.close()
    return FileResponse(tmp.name, filename="export.zip")
""", line=12, column=12, message="temporary file `tmp.name`", fixed="""
import tempfile
from fastapi import FastAPI
from fastapi.responses import FileResponse
import os
from starlette.background import BackgroundTask

app = FastAPI()

@app.get("/export")
def export():
    tmp = tempfile.NamedTemporaryFile(delete=False, suffix=".zip")
    tmp.write(b"PK")
    tmp.close()
    return FileResponse(tmp.name, filename="export.zip", background=BackgroundTask(os.unlink, tmp.name))
"""),
        Invalid(FILE_APP + """
import os

@app.get("/pdf")
def pdf():
    fd, path = tempfile.mkstemp(suffix=".pdf")
    os.write(fd, b"%PDF")
    os.close(fd)
    return FileResponse(
        path,
        media_type="application/pdf",
    )
""", line=14, column=12, fixed=FILE_APP.replace("from fastapi.responses import FileResponse\n",
                                     "from fastapi.responses import FileResponse\n"
                                     "from starlette.background import BackgroundTask\n") + """
import os

@app.get("/pdf")
def pdf():
    fd, path = tempfile.mkstemp(suffix=".pdf")
    os.write(fd, b"%PDF")
    os.close(fd)
    return FileResponse(
        path,
        media_type="application/pdf",
        background=BackgroundTask(os.unlink, path),
    )
"""),
        Invalid("""
import os.path
from tempfile import mkdtemp as make_dir
from starlette.responses import FileResponse

async def zipped(request):
    work = make_dir()
    target = os.path.join(work, "out.zip")
    return FileResponse(target)
""", line=8, fixed="""
import os.path
from tempfile import mkdtemp as make_dir
from starlette.responses import FileResponse
import shutil
from starlette.background import BackgroundTask

async def zipped(request):
    work = make_dir()
    target = os.path.join(work, "out.zip")
    return FileResponse(target, background=BackgroundTask(shutil.rmtree, work))
"""),
        # a BackgroundTasks parameter used for something else: reported, no fix
        Invalid(FILE_APP + """
from fastapi import BackgroundTasks

@app.get("/f")
def f(tasks: BackgroundTasks):
    tasks.add_task(print, "served")
    with tempfile.NamedTemporaryFile(delete=False) as tmp:
        tmp.write(b"x")
    return FileResponse(tmp.name)
""", line=14),
        Invalid("""
from app.web import FR
import tempfile

def serve():
    _, p = tempfile.mkstemp()
    return FR(p)
""", files={"app/__init__.py": "", "app/web.py": "from starlette.responses import FileResponse as FR\n"},
            path="app/serve.py", line=6),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        if files.response_kind(self.ctx, node) != "file":
            return
        positional = [a for a in node.args if a.keyword is None]
        if files.keyword(node, "background") is not None or len(positional) >= 5 or \
                any(a.star for a in node.args):
            return
        arg = files.content_arg(node)
        fn = self.ctx.current_function()
        if arg is None or fn is None:
            return
        index = flow.index_of(self.ctx, fn)
        binding = next((b for b in files.temp_bindings(self.ctx, index) if files.refers_to(arg.value, b)), None)
        if binding is None or _cleans_up(self.ctx, index, binding):
            return
        self.report(node, path=self.ctx.code(arg.value), fix=self._fix(fn, index, node, arg, binding))

    def _fix(self, fn, index: FunctionIndex, call: cst.Call, arg: cst.Arg,
             binding: files.TempBinding) -> Optional[Fix]:
        if _background_tasks_param(self.ctx, fn):
            return None
        if binding.kind == "mkdtemp":
            if binding.dir_name is None or len(index.assignments(binding.dir_name)) != 1:
                return None
            remover, target, module = "shutil.rmtree", binding.dir_name, "shutil"
        else:
            if not isinstance(arg.value, (cst.Name, cst.Attribute)):
                return None
            remover, target, module = "os.unlink", self.ctx.code(arg.value), "os"
        if not _name_available(self.ctx, index, module, module) or not _name_available(
                self.ctx, index, "BackgroundTask", "starlette.background.BackgroundTask"):
            return None
        config = self.ctx.module.config_for_parsing
        new_arg = cst.parse_expression(f"f(background=BackgroundTask({remover}, {target}))", config=config).args[0]
        args = list(call.args)
        last = args[-1]
        if isinstance(last.comma, cst.Comma):  # trailing comma: keep the layout, one argument per line
            if len(args) > 1 and isinstance(args[-2].comma, cst.Comma):
                between = args[-2].comma.whitespace_after
            else:
                between = call.whitespace_before_args
            args[-1] = last.with_changes(comma=last.comma.with_changes(whitespace_after=between))
            new_arg = new_arg.with_changes(comma=last.comma)
        else:
            args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        new = call.with_changes(args=[*args, new_arg])
        imports = [ImportSpec("starlette.background", "BackgroundTask")]
        if not self.ctx.qualify(cst.Name(module)):
            imports.append(ImportSpec(module))
        return Fix(self.fix_title or "", Applicability.UNSAFE, {call: new}, imports=imports)


class TempFileNeverRemoved(_FileRule):
    """## What it does
    Finds, in a route handler, dependency or middleware (and the functions of the same module they
    call), a temporary file made with `NamedTemporaryFile(delete=False)` or `mkstemp()`, or a
    directory made with `mkdtemp()`, that is removed on no path: no `os.remove`/`os.unlink`/
    `Path.unlink`/`shutil.rmtree`, no `BackgroundTasks.add_task`/`BackgroundTask` cleanup, not moved
    away, not returned and not handed to a function of the same module.

    ## Why is this bad?
    `delete=False` and `mkstemp` exist precisely so that the file survives; nobody deletes it
    later, so every request leaves one behind and `/tmp` (often a tmpfs held in memory) fills up.

    ## Example
    ```python
    @app.post("/transcribe")
    async def transcribe(file: UploadFile):
        with tempfile.NamedTemporaryFile(delete=False, suffix=".wav") as tmp:
            shutil.copyfileobj(file.file, tmp)
        return model.transcribe(tmp.name)
    ```

    Use instead:
    ```python
    @app.post("/transcribe")
    async def transcribe(file: UploadFile):
        with tempfile.NamedTemporaryFile(delete=False, suffix=".wav") as tmp:
            shutil.copyfileobj(file.file, tmp)
        try:
            return model.transcribe(tmp.name)
        finally:
            os.unlink(tmp.name)
    ```

    ## Known problems
    A file served with `FileResponse` is LL505's finding, not this rule's. A removal anywhere in the
    function counts, even one only on the happy path.
    """

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return files.may_use_tempfile(summary, project) and files.has_handlers(summary, project)

    code = "LL506"
    name = "temp-file-never-removed"
    message = "Temporary {what} from `{callee}` is never removed: each request leaves one on disk; remove it in `finally`"

    valid = [
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
    invalid = [
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
    ]

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not web.runs_per_request(self.ctx, node):
            return
        index = flow.index_of(self.ctx, node)
        for binding in files.temp_bindings(self.ctx, index):
            if not (binding.path_names or binding.object_names):
                continue
            if _cleans_up(self.ctx, index, binding) or self._escapes(index, binding):
                continue
            what = "directory" if binding.kind == "mkdtemp" else "file"
            callee = {"named": "NamedTemporaryFile", "mkstemp": "mkstemp", "mkdtemp": "mkdtemp"}[binding.kind]
            self.report(binding.call, what=what, callee=callee)

    def _escapes(self, index: FunctionIndex, binding: files.TempBinding) -> bool:
        for node in index.all(cst.Return) + index.all(cst.Yield):
            if node.value is not None and files.carries_path(node.value, binding):
                return True
        for assign in index.all(cst.Assign) + index.all(cst.AnnAssign):
            targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
            if assign.value is not None and files.carries_path(assign.value, binding) and \
                    not all(isinstance(t, cst.Name) for t in targets):
                return True  # stored on an object or in a container
        prefix = self.ctx.summary.module + "."
        for call in index.all(cst.Call):
            if not any(files.refers_to(a.value, binding) for a in call.args):
                continue
            if files.response_kind(self.ctx, call) == "file":
                return True
            names = self.ctx.qualify(call.func)
            if any(n.startswith(prefix) for n in names) or (
                    isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name)
                    and call.func.value.value in ("self", "cls")):
                return True
            if any(self.ctx.project.is_project_name(n) for n in names):
                return True
        return False
