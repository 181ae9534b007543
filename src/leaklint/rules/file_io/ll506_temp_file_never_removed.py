"""LL506 temp-file-never-removed: a temporary file made in per-request code and removed on no path."""

from __future__ import annotations

import libcst as cst

from leaklint.rules.file_io._common import _FileRule, _cleans_up
from leaklint.rules.file_io.ll506_temp_file_never_removed_examples import INVALID, VALID
from leaklint.semantics import fastapi as web
from leaklint.semantics import files
from leaklint.semantics import flow, temp_paths
from leaklint.semantics.flow import FunctionIndex


class TempFileNeverRemoved(_FileRule):
    """## What it does
    Finds, in a route handler, dependency or middleware (and the functions of the same module they
    call), a temporary file made with `NamedTemporaryFile(delete=False)` or `mkstemp()`, or a
    directory made with `mkdtemp()`, that is removed on no path: no `os.remove`/`os.unlink`/
    `Path.unlink`/`shutil.rmtree`, no `BackgroundTasks.add_task`/`BackgroundTask` cleanup, not moved
    away, not returned and not handed to a function of the project. A path that a project helper
    made and returned (`return NamedTemporaryFile(delete=False).name`, `mkstemp`'s path, `mkdtemp()`,
    in any module, also as one item of a tuple: `path, name = download(url)`) is the caller's to
    remove, and is checked in the caller the same way.

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
    def fires_in(cls, summary, project) -> bool:
        return files.may_use_tempfile(summary, project) and files.has_handlers(summary, project)

    code = "LL506"
    name = "temp-file-never-removed"
    message = "Temporary {what} from `{callee}` is never removed: each request leaves one on disk; remove it in `finally`"

    valid = VALID
    invalid = INVALID

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not web.runs_per_request(self.ctx, node):
            return
        index = flow.index_of(self.ctx, node)
        for binding in files.temp_bindings(self.ctx, index):
            if not (binding.path_names or binding.object_names):
                continue
            if _cleans_up(self.ctx, index, binding) or self._escapes(index, binding):
                continue
            what = {"mkdtemp": "directory", "returned": "path"}.get(binding.kind, "file")
            callee = {"named": "NamedTemporaryFile", "mkstemp": "mkstemp", "mkdtemp": "mkdtemp"}.get(
                binding.kind, f"{binding.helper}()")
            self.report(binding.call, what=what, callee=callee)

    def _escapes(self, index: FunctionIndex, binding: files.TempBinding) -> bool:
        later = _from_binding_on(index, binding)
        for node in index.all(cst.Return) + index.all(cst.Yield):
            if node.value is not None and later(node) and files.carries_path(node.value, binding):
                return True
        for assign in index.all(cst.Assign) + index.all(cst.AnnAssign):
            targets = [t.target for t in assign.targets] if isinstance(assign, cst.Assign) else [assign.target]
            if assign.value is not None and later(assign) and files.carries_path(assign.value, binding) and \
                    not all(isinstance(t, cst.Name) for t in targets):
                return True  # stored on an object or in a container
        prefix = self.ctx.summary.module + "."
        for call in index.all(cst.Call):
            if not later(call) or not any(files.refers_to(a.value, binding) for a in call.args):
                continue
            if files.response_kind(self.ctx, call) == "file":
                return True
            if self._only_read_by(index.fn, call, binding):
                continue
            names = self.ctx.qualify(call.func)
            if any(n.startswith(prefix) for n in names) or (
                    isinstance(call.func, cst.Attribute) and isinstance(call.func.value, cst.Name)
                    and call.func.value.value in ("self", "cls")):
                return True
            if any(self.ctx.project.is_project_name(n) and not self._library_object_method(n) for n in names):
                return True
        return False

    def _library_object_method(self, name: str) -> bool:
        """``logger.info`` on a module's ``logger = logging.getLogger(...)``: a library object's method."""
        project = self.ctx.project
        owner = project.definition(project.canonical(name.rpartition(".")[0]))
        return owner is not None and owner.kind == "call" and bool(owner.callee) and \
            not any(project.is_project_name(project.canonical(c)) for c in owner.callee)

    def _only_read_by(self, fn: cst.FunctionDef, call: cst.Call, binding: files.TempBinding) -> bool:
        """A project function that only reads the path in every slot it gets it in (``load(path)``)."""
        target, offset = temp_paths.project_callee(self.ctx, fn, call)
        if target is None:
            return False
        params = self.ctx.project.functions[target].params
        positional = [a for a in call.args if a.keyword is None]
        for arg in call.args:
            if not files.refers_to(arg.value, binding):
                continue
            if arg.star or (arg.keyword is not None and arg.keyword.value not in params):
                return False
            slot = params.index(arg.keyword.value) if arg.keyword is not None else positional.index(arg) + offset
            if not files.carries_path(arg.value, binding) or not temp_paths.only_reads(self.ctx.project, target, slot):
                return False
        return True


def _from_binding_on(index: FunctionIndex, binding: files.TempBinding):
    """For a path a helper returned into a name that held something else before (``audio =
    convert(audio)``), only what the function does from that statement on uses the temp path."""
    if binding.kind != "returned":
        return lambda node: True

    def top(node: cst.CSTNode) -> int:
        for n in [node, *index.ancestors(node)]:
            position = flow.top_level_index(index.fn, n)
            if position is not None:
                return position
        return -1

    start = top(binding.call)
    made = binding.call  # its own arguments are the old value (``to_wav(path)``)
    return lambda node: node is not made and made not in index.ancestors(node) and top(node) >= start
