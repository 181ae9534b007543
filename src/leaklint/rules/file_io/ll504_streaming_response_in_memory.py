"""LL504 streaming-response-in-memory: a `StreamingResponse` of a body the handler first builds whole in memory."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.rules.file_io._common import _FileRule
from leaklint.rules.file_io.ll504_streaming_response_in_memory_examples import INVALID, VALID
from leaklint.semantics import buffers, files
from leaklint.semantics import flow
from leaklint.semantics.names import matches


class StreamingResponseInMemory(_FileRule):
    """## What it does
    Finds a `StreamingResponse` whose content the code first builds fully in memory: an
    `io.BytesIO` / `io.StringIO` that it writes into (`csv.writer(buf)`, `zipfile.ZipFile(buf, "w")`,
    `buf.write(...)`) or fills with data it serialises (`json.dumps(rows)`, `"".join(lines)`,
    `other.getvalue()`), also through a variable, or the buffer a project helper in any module
    returns (`StreamingResponse(export_report())`, `await service.pack()` on a module-level
    service); `iter([...])`, a list or a tuple of such a serialised body. One value another component produced whole (`io.BytesIO(document.content)`,
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
    def fires_in(cls, summary, project) -> bool:
        return files.calls_response(summary, project, "streaming")

    code = "LL504"
    name = "streaming-response-in-memory"
    message = "`StreamingResponse` is fed {what}, which is already fully in memory: stream from a generator or use `Response(content=...)`"

    valid = VALID
    invalid = INVALID

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
                value = index.assigned_value(binder)
                kind = self._in_memory(value) if value is not None else None
                kinds.add(kind)
                built = built or (kind or "").startswith("the in-memory buffer") or (
                    value is not None and buffers.built_here(self.ctx, index, value, arg.value.value))
            if binders and None not in kinds:
                what = f"`{arg.value.value}` ({sorted(kinds)[0]})"
        if what is not None and built:
            self.report(arg.value, what=what)

    def _in_memory(self, value: cst.BaseExpression) -> Optional[str]:
        if isinstance(value, cst.Await):
            value = value.expression
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
            project = self.ctx.project
            returns = project.ownership.returns
            helper = next((n for n in sorted(names) if any(returns.get(f, ("",))[0] == "buffer"
                                                           for f in project.functions_of(n))), None)
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
