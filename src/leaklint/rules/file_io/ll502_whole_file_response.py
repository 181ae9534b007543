"""LL502 whole-file-response: a file read whole into memory to answer a request."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, ImportSpec
from leaklint.rules.file_io.ll502_whole_file_response_examples import INVALID, VALID
from leaklint.rules.file_io._common import _FileRule, _name_available, _outer
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow
from leaklint.semantics import paths
from leaklint.semantics.flow import FunctionIndex


class WholeFileResponse(_FileRule):
    """## What it does
    Finds a file read whole into memory to answer a request: `open(p, "rb").read()`,
    `Path(p).read_bytes()` / `read_text()`, or `f.read()` of a `with open(p) as f` (sync or
    `aiofiles`), whose result becomes the body of a FastAPI/Starlette `Response` (also
    `PlainTextResponse`/`HTMLResponse`) or is returned from a route. An `open()` inside the `return`
    statement itself is included (ruff and pylint skip those).

    A binary read of a whole file whose path comes from the route handler's parameters
    (`open(file_id, "rb").read()`) is reported even when the bytes are not the body: the request
    picks the file, and with it how much memory the worker holds.

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

    A file the application ships, whose path is anchored to the package (`__file__`) or to a
    module-level name and otherwise built from literals with `os.path`/`pathlib`
    (`os.path.join(os.path.dirname(__file__), "static", "index.html")`, `DEFAULT_ICON`), is not
    reported: its size is the application's, not the request's.

    ## Known problems
    A large asset the application ships is not reported either. The read is followed through one local variable; a body assembled from several reads, or read
    in another function, is not reported.
    """

    @classmethod
    def fires_in(cls, summary, project) -> bool:
        return files.may_read_file(summary, project) and (
            files.has_handlers(summary, project) or files.calls_response(summary, project, "plain"))

    code = "LL502"
    name = "whole-file-response"
    message = "`{expr}` reads the whole file into memory to answer the request: return `FileResponse(path)`, which streams it"
    fix_title = "Return a `FileResponse` of the path"
    fix_availability = FixAvailability.SOMETIMES

    valid = VALID
    invalid = INVALID

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("read", "read_bytes", "read_text"):
            return
        fn = self.ctx.current_function()
        if fn is None or not self._reads_whole_file(node, fn):
            return
        index = flow.index_of(self.ctx, fn)
        path = self._path_of(index, node)
        if path is not None and paths.is_shipped_file(self.ctx, fn, index, path):
            return  # a file the application ships (``index.html`` next to ``__file__``, a default icon)
        outer = _outer(index, node)
        sink = self._sink(index, fn, outer)
        if sink is None:
            name = flow.assigned_name(index, node)
            if name is not None and len(index.assignments(name)) == 1:
                sink = next((s for s in (self._sink(index, fn, load) for load in index.loads(name))
                             if s is not None), None)
            if sink is None:
                if self._request_sized(node, fn):
                    self.report(node, message=(
                        f"`{self.ctx.code(node)}` reads a whole file named by the request into memory in "
                        f"`{fn.name.value}`: read it in chunks, or serve it with `FileResponse`"))
                return
            fix = None
        else:
            fix = self._fix(index, node, sink)
        self.report(node, expr=self.ctx.code(node), fix=fix)

    def _request_sized(self, read: cst.Call, fn: cst.FunctionDef) -> bool:
        """A binary read, in a route handler, of a path built from the handler's parameters: its size
        is the request's choice (``open(file_id, "rb").read()`` in a download handler)."""
        if not web.roles_of(self.ctx, fn).route:
            return False
        receiver = read.func.value  # type: ignore[attr-defined]
        if isinstance(receiver, cst.Call) and files.is_open_call(self.ctx, receiver):
            if not (files.open_mode(receiver) or "").count("b"):
                return False
            source = receiver.args[0].value if receiver.args else None
        elif read.func.attr.value == "read_bytes":  # type: ignore[attr-defined]
            source = receiver
        else:
            return False
        params = {p.name.value for p in web.handler_params(fn)}
        return source is not None and any(isinstance(n, cst.Name) and n.value in params for n in flow.walk(source))

    def _path_of(self, index: FunctionIndex, read: cst.Call) -> Optional[cst.BaseExpression]:
        """The path a whole read reads: ``open(p)``'s ``p``, ``Path(p)`` itself, or the ``with`` item's."""
        receiver = read.func.value  # type: ignore[attr-defined]
        if read.func.attr.value in ("read_bytes", "read_text"):  # type: ignore[attr-defined]
            return receiver
        if isinstance(receiver, cst.Name):
            binders = index.assignments(receiver.value)
            item = index.parent.get(binders[0]) if len(binders) == 1 else None
            receiver = item.item if isinstance(item, cst.WithItem) else None
        if isinstance(receiver, cst.Call) and receiver.args:
            return receiver.args[0].value
        return None

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
