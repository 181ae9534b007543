"""LL503 unclosed-file: a file opened in per-request code and not closed on every path."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.rule import Invalid
from leaklint.rules.file_io._common import STREAM_APP, _FileRule, _outer
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex
from leaklint.semantics.names import matches


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
