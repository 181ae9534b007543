"""LL501 whole-upload-read: an upload read whole into memory (`await file.read()`)."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, ImportSpec
from leaklint.rules.file_io._common import _FileRule, _name_available, _outer
from leaklint.rules.file_io.ll501_whole_upload_read_examples import INVALID, VALID
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex

LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


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


class WholeUploadRead(_FileRule):
    """## What it does
    Finds an upload read whole into memory: `await file.read()` / `file.file.read()` with no size
    (or a negative one) on a `fastapi.UploadFile` / `starlette.datastructures.UploadFile` (a
    parameter annotated so, also inside `Annotated`/`Optional`/`list[...]`, a `File(...)` default, or
    an item of `await request.form()`), in a route handler, dependency or middleware or a function of
    the same module they call; `read()` of a decompressing reader around one (`gzip.open(file.file)`,
    `bz2`/`lzma` alike: the decompressed size has no bound at all); and `await request.body()` there
    when the bytes are only passed on (written to a file, sent to an HTTP client, put in a response)
    rather than parsed.

    A route parameter `data: bytes = File(...)` (or `Annotated[bytes, File()]`) is reported too:
    FastAPI reads the whole upload into that `bytes` object before the handler runs. A read after
    the handler checked the upload's size (`if file.size > LIMIT: raise ...`), or of an upload
    that a dependency validated by its size, is bounded and not reported.

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
    overrides `read()` is bypassed. No fix is offered for a decompressing reader.

    ## Known problems
    An unannotated Starlette endpoint parameter (`async def endpoint(request)`) is not known to be a
    request. A helper that reads whole an upload it is given is reported in the helper when its
    parameter is annotated `UploadFile`, else at the call in the handler (`save_upload(file)`). A
    request body that is parsed (JSON, protobuf, a signature check, decompression) is not reported:
    the parser needs all of it; nor is an upload whose bytes go only to a document parser or an
    image decoder (`json.loads`, `yaml.safe_load`, `cv2.imdecode`..., also run by
    `asyncio.to_thread`); `PIL.Image.open` is not one, it can read `file.file` lazily. Nothing is
    reported when the project has a middleware that rejects large bodies (it reads `content-length`
    and answers 413): that bounds every upload, but it also silences the rule for every app of a
    repository linted as one. A middleware whose check is limited to some paths (`if path !=
    "/videos": pass it on`) bounds only the routes whose path ends one of those.
    """

    code = "LL501"
    name = "whole-upload-read"
    message = "`{expr}` reads the whole {what} into memory: {advice}"
    fix_title = "Copy the upload to the file in chunks with `shutil.copyfileobj`"
    fix_availability = FixAvailability.SOMETIMES

    valid = VALID
    invalid = INVALID

    @classmethod
    def fires_in(cls, summary, project) -> bool:
        # an app-wide middleware that rejects large bodies bounds every read of one
        return project.body_size_middleware is None and files.may_read_whole(summary, project)

    def report(self, node: cst.CSTNode, message=None, fix=None, **data: object) -> None:
        fn = self.ctx.current_function()
        if fn is not None and files.route_body_limited(self.ctx.project, self.ctx.qualified_function_name(fn)):
            return
        super().report(node, message, fix, **data)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        """``data: bytes = File(...)``: FastAPI reads the whole upload into ``bytes`` before the handler runs."""
        if not web.roles_of(self.ctx, node).route:
            return
        for param in web.handler_params(node):
            if web.is_bytes_file_param(self.ctx, param):
                self.report(param, expr=self.ctx.code(param).strip().rstrip(","), what="upload",
                            advice="declare it `UploadFile` and copy it in chunks")

    def _size_checked(self, fn: cst.FunctionDef, index: FunctionIndex, upload: str, read: cst.Call) -> bool:
        """``if file.size > LIMIT: raise`` before the read (also in an enclosing function, for a read in
        a closure), or a dependency that checks the size."""
        scopes = [index] + [flow.index_of(self.ctx, f) for f in self.ctx.ancestors(fn) if isinstance(f, cst.FunctionDef)]

        checked = {upload} | files.same_list_loop_names(scopes, upload)

        def size_of(node: cst.CSTNode) -> bool:
            return isinstance(node, cst.Attribute) and node.attr.value == "size" and \
                isinstance(node.value, cst.Name) and node.value.value in checked

        for scope in scopes:
            # ``file_size = file.size or 0`` then ``if file_size > LIMIT``
            sizes = {flow.assigned_name(scope, a.value) for a in scope.all(cst.Assign)
                     if any(size_of(n) for n in flow.walk(a.value))} - {None}
            for compare in scope.all(cst.Comparison):
                for node in flow.walk(compare):
                    if size_of(node) or (isinstance(node, cst.Name) and node.value in sizes):
                        return True
        for param in web.handler_params(fn):
            if param.name.value != upload:
                continue
            for dependency in web.depends_target(self.ctx, param.default) or web.annotated_depends(self.ctx, param):
                record = self.ctx.project.functions.get(dependency)
                uses = record.ownership.param_uses.values() if record is not None else ()
                if any(use[:2] == ("attr", "size") for group in uses for use in group):
                    return True
        return False

    def _helper_reads_whole(self, node: cst.Call, uploads) -> Optional[str]:
        """``await save(file)`` where the project function ``save`` reads that parameter whole (and does not
        annotate it ``UploadFile``: such a helper's own read is reported where it is)."""
        for name in self.ctx.qualify(node.func):
            record = self.ctx.project.functions.get(name)
            whole = files.whole_read_parameters(self.ctx.project, name)
            for position, arg in enumerate(a for a in node.args if a.keyword is None and not a.star):
                value = arg.value  # the upload, or its file object (``load_audio(upload.file)``)
                if isinstance(value, cst.Attribute) and value.attr.value == "file":
                    value = value.value
                if position in whole and isinstance(value, cst.Name) and value.value in uploads and not (
                        self.ctx.project.canonical_all(record.ownership.param_types.get(position, ())) & web.UPLOAD_FILE):
                    return value.value
        return None

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, (cst.Name, cst.Attribute)) and self.ctx.project.functions:
            fn = self.ctx.current_function()
            if fn is not None and any(files.whole_read_parameters(self.ctx.project, n) for n in self.ctx.qualify(func)) \
                    and web.runs_per_request(self.ctx, fn):
                uploads, _ = files.upload_and_request_names(self.ctx, fn, flow.index_of(self.ctx, fn))
                upload = self._helper_reads_whole(node, uploads) if uploads else None
                if upload is not None:
                    self.report(node, expr=self.ctx.code(node), what=f"upload `{upload}`",
                                advice=f"copy it in chunks (`shutil.copyfileobj({upload}.file, out)`) instead")
                    return
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
            wrapped = None
            if isinstance(receiver, cst.Name) and receiver.value in uploads:
                upload = receiver.value
            elif isinstance(receiver, cst.Attribute) and receiver.attr.value == "file" and \
                    isinstance(receiver.value, cst.Name) and receiver.value.value in uploads:
                upload = receiver.value.value
            else:
                upload = wrapped = files.wrapped_upload(self.ctx, index, receiver, uploads)
                if upload is None:
                    return
            if self._size_checked(fn, index, upload, node) or files.only_parsed(self.ctx, index, node):
                return
            if wrapped is not None:  # `gzip.open(file.file).read()`: the upload decompressed, all of it
                self.report(node, expr=self.ctx.code(node), what="decompressed upload", advice=(
                    "decompress it in chunks (`shutil.copyfileobj(reader, out)`) or read with a size limit"))
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

