"""Is an in-memory response body built by this code, or an existing value wrapped for sending?

``StreamingResponse(io.BytesIO(document.content))`` or ``iter([converted_pdf])`` send bytes that
another component produced whole (a database column, a converter): streaming cannot save memory
there, and ``Response(content=...)`` would hold the same bytes. A body the function builds
itself (rows written into a buffer by ``csv.writer``, a zip written into a ``BytesIO``, a list
serialised with ``json.dumps``, lines joined) is the case that could have been produced lazily.
"""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.semantics.flow import FunctionIndex

#: calls whose result is a serialisation of data the function holds
SERIALISERS = frozenset({
    "json.dumps", "orjson.dumps", "ujson.dumps", "simplejson.dumps", "yaml.dump", "yaml.safe_dump",
    "pickle.dumps", "msgpack.packb", "msgpack.dumps",
})
#: methods that serialise or collect a whole body (``buf.getvalue()``, ``df.to_csv()``, ``"".join(lines)``)
SERIALISING_METHODS = frozenset({"getvalue", "to_csv", "to_json", "to_excel", "to_parquet", "to_html",
                                 "model_dump_json", "json", "join", "dumps", "tobytes"})
#: methods that write into a buffer
WRITE_METHODS = frozenset({"write", "writelines", "writestr"})
_UNWRAP = frozenset({"encode", "decode"})
_MAX_DEPTH = 6


def serialised(ctx, index: FunctionIndex, expr: cst.BaseExpression, depth: int = 0) -> bool:
    """Is ``expr`` (through ``.encode()`` and locals) a body serialised or collected here?"""
    if depth > _MAX_DEPTH:
        return False
    if isinstance(expr, cst.Await):
        return False  # produced by another component
    if isinstance(expr, cst.Name):
        values = [index.assigned_value(b) for b in index.assignments(expr.value)]
        return any(v is not None and serialised(ctx, index, v, depth + 1) for v in values)
    if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
        return True
    if not isinstance(expr, cst.Call):
        return False
    func = expr.func
    if isinstance(func, cst.Attribute):
        if func.attr.value in _UNWRAP:
            return serialised(ctx, index, func.value, depth + 1)
        if func.attr.value in SERIALISING_METHODS:
            return True
    names = ctx.qualify(func)
    if {"builtins.bytes", "builtins.str"} & names and expr.args:
        return serialised(ctx, index, expr.args[0].value, depth + 1)
    return bool(names & SERIALISERS)


def written(ctx, index: FunctionIndex, name: str) -> bool:
    """Is the buffer bound to ``name`` written in this function (``buf.write(...)``,
    ``csv.writer(buf)``, ``zipfile.ZipFile(buf, "w")``, ``df.to_csv(buf)``)?"""
    from leaklint.semantics.files import response_kind

    for call in index.all(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name:
            if func.attr.value in WRITE_METHODS:
                return True
            continue
        if any(isinstance(a.value, cst.Name) and a.value.value == name for a in call.args) and \
                response_kind(ctx, call) is None:
            return True
    return False


def built_here(ctx, index: Optional[FunctionIndex], content: cst.BaseExpression, name: Optional[str] = None) -> bool:
    """Is the in-memory ``content`` (a ``BytesIO``/``StringIO``, ``iter([...])``, a list; ``name``
    the local it is bound to) built by this function rather than a single value wrapped?"""
    if index is None:
        return True  # module level: nothing to follow, keep the finding
    if isinstance(content, cst.Call):
        if len(content.args) == 1 and "builtins.iter" in ctx.qualify(content.func):
            return built_here(ctx, index, content.args[0].value)
        if content.args and serialised(ctx, index, content.args[0].value):
            return True
        return name is not None and written(ctx, index, name)
    if isinstance(content, (cst.List, cst.Tuple)):
        return any(serialised(ctx, index, e.value) for e in content.elements if isinstance(e, cst.Element))
    return isinstance(content, (cst.ListComp, cst.GeneratorExp))

