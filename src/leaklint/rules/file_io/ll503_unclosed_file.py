"""LL503 unclosed-file: a file opened in per-request code and not closed on every path."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.rules.file_io._common import _FileRule, _outer
from leaklint.rules.file_io import ll503_descriptor_examples as descriptors
from leaklint.rules.file_io.ll503_unclosed_file_examples import INVALID, VALID
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow, obligations
from leaklint.semantics.flow import FunctionIndex


class UnclosedFile(_FileRule):
    """## What it does
    Finds, in a route handler, dependency or middleware (and the functions they call, in any
    module), a file opened with `open()` / `io.open()` / `aiofiles.open()` that is not closed on every
    path: bound to a name outside `with` and not closed in a `finally`, or handed to something that
    never closes it: an HTTP client call (`requests.post(url, files={"f": open(p, "rb")})`,
    `client.post(..., content=f)`), a `StreamingResponse(open(p, "rb"))`, or a call that only uses
    it (`json.dump(data, open(p, "w"))`, a project helper that reads from it). A file returned by a
    project helper (`def open_log(): return open(LOG, "a")`) is the caller's to close. Also the
    descriptor that `tempfile.mkstemp()` opens, when it is dropped (`_, path = mkstemp()`,
    `mkstemp()[1]`) or only given to other `os` calls: nothing ever closes it.

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
    Only per-request code is checked (handlers, dependencies, middleware and what they call, in any
    module), to keep precision; a handle returned, yielded, stored on an object or passed to code
    leaklint cannot see is assumed to be owned by the receiver. An `open()` whose handle is dropped at once (`open(p).read()`) is left to
    LL502 and to ruff's SIM115, which overlaps with this rule for the `f = open(p)` shape.
    """

    code = "LL503"
    name = "unclosed-file"
    message = "File {what} {problem}; open it with `with`"
    overlaps = "ruff SIM115 / pylint R1732 (consider-using-with) report `open()` outside `with` anywhere"

    valid = VALID + descriptors.VALID
    invalid = INVALID + descriptors.INVALID

    @classmethod
    def fires_in(cls, summary, project) -> bool:
        return files.may_open_files(summary, project)

    def _opens(self, node: cst.Call) -> bool:
        """``open()``/``aiofiles.open()``, or a project function that returns a new open file."""
        if files.last_name(node.func) in ("open", "open_file") and (
                files.is_async_open_call(self.ctx, node) or files.is_open_call(self.ctx, node)):
            return True
        returns = self.ctx.project.ownership.returns
        return any(returns.get(name, ("",))[0] == "file" for name in self.ctx.qualify(node.func))

    def visit_Call(self, node: cst.Call) -> None:
        descriptor = files.temp_kind(self.ctx, node) == "mkstemp"
        if not descriptor and not self._opens(node):
            return
        fn = self.ctx.current_function()
        if fn is None or not web.runs_per_request(self.ctx, fn):
            return
        index = flow.index_of(self.ctx, fn)
        if descriptor:
            problem = files.descriptor_left_open(self.ctx, index, node)
            if problem is not None:
                self.report(node, what=f"descriptor from `{self.ctx.code(node.func)}()`",
                            problem=f"{problem}: take it over with `os.fdopen(fd, ...)`")
            return
        value = _outer(index, node)
        sink = self._sink(index, value) or self._borrower(index, value)
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
        closes = obligations.release_calls(self.ctx, index, name, ("close", "aclose"))
        if obligations.covers_every_path(index, closes):
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
            return not isinstance(call, cst.Call) or obligations.passed_to(self.ctx, call, parent) == "own"
        return isinstance(parent, (cst.Return, cst.Yield, cst.WithItem, cst.Element, cst.DictElement,
                                   cst.AssignTarget, cst.Assign, cst.AnnAssign, cst.StarredElement,
                                   cst.NamedExpr, cst.Tuple, cst.Lambda, cst.Subscript))

    def _borrower(self, index: FunctionIndex, value: cst.CSTNode) -> Optional[str]:
        """``json.dump(data, open(p, "w"))``: a call that only uses the handle it is given inline."""
        parent = index.parent.get(value)
        call = index.parent.get(parent) if isinstance(parent, cst.Arg) else None
        if isinstance(call, cst.Call) and obligations.passed_to(self.ctx, call, parent) == "borrow":
            return self.ctx.code(call.func)
        return None

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
