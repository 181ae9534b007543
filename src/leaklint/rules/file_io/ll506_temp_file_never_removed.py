"""LL506 temp-file-never-removed: a temporary file made in per-request code and removed on no path."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Invalid
from leaklint.rules.file_io._common import FILE_APP, _FileRule, _cleans_up
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex


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
