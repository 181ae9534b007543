"""LL505 file-response-of-temp-file: a `FileResponse` of a temporary file that nothing removes."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, FixAvailability, ImportSpec, Invalid, Valid
from leaklint.rules.file_io._common import FILE_APP, _FileRule, _cleans_up, _name_available
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex
from leaklint.semantics.names import matches


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
    def fires_in(cls, summary, project) -> bool:
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
        # a fixture app of the test suite: its temp files live as long as the test run
        Valid(FILE_APP + """
@app.get("/fixture.png")
def fixture_png():
    tmp = tempfile.NamedTemporaryFile(delete=False, suffix=".png")
    tmp.close()
    return FileResponse(tmp.name)
""", path="tests/fixtures/wrapper.py"),
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
        if _background_tasks_param(self.ctx, fn) or binding.kind == "returned":
            return None  # a helper's path may be a file or a directory: which remover is unknown
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
