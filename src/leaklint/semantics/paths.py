"""Where a file path comes from: fixed by the code and the deployment, or picked by the caller.

A file whose path is built only from literals, ``__file__`` and module-level names (a bundled
``index.html``, a default icon, ``STATIC_DIR / "logo.png"``) has a size the application ships;
reading it whole is not driven by the request. A path that uses a parameter, or the result of
an arbitrary call, may name anything.
"""

from __future__ import annotations

import libcst as cst

from leaklint.semantics.flow import FunctionIndex

#: calls that only combine or normalise path parts
PATH_COMBINERS = frozenset({
    "os.path.join", "os.path.dirname", "os.path.abspath", "os.path.realpath", "os.path.normpath",
    "os.path.expanduser", "pathlib.Path", "pathlib.PurePath", "builtins.str", "os.fspath",
})
#: methods of a path that keep it fixed when their receiver is
PATH_METHODS = frozenset({"resolve", "absolute", "joinpath", "with_suffix", "with_name", "expanduser"})
PATH_ATTRIBUTES = frozenset({"parent", "parents"})
_MAX_DEPTH = 8


def is_shipped_file(ctx, fn: cst.FunctionDef, index: FunctionIndex, expr: cst.BaseExpression) -> bool:
    """Is ``expr`` built only from literals, ``__file__`` and module-level names (through locals),
    and anchored to the package (``__file__``) or a module-level name?

    A bare literal (``"report.pdf"``) is not enough: a fixed name in the working directory is as
    often a generated export as an asset.
    """
    params = {p.name.value for p in _params(fn)}
    anchors: list = []
    return _fixed(ctx, index, params, expr, 0, anchors) and bool(anchors)


def _fixed(ctx, index: FunctionIndex, params, expr: cst.BaseExpression, depth: int, anchors: list) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(expr, (cst.SimpleString, cst.Integer)):
        return True
    if isinstance(expr, cst.ConcatenatedString):
        return _fixed(ctx, index, params, expr.left, depth + 1, anchors) and _fixed(ctx, index, params, expr.right, depth + 1, anchors)
    if isinstance(expr, cst.FormattedString):
        return all(_fixed(ctx, index, params, part.expression, depth + 1, anchors)
                   for part in expr.parts if isinstance(part, cst.FormattedStringExpression))
    if isinstance(expr, cst.Name):
        if expr.value == "__file__":
            anchors.append(expr)
            return True
        if expr.value in params:
            return False
        binders = index.assignments(expr.value)
        if not binders:
            anchors.append(expr)
            return True  # a module-level name: configuration or a constant
        values = [index.assigned_value(b) for b in binders]
        return all(v is not None and _fixed(ctx, index, params, v, depth + 1, anchors) for v in values)
    if isinstance(expr, cst.BinaryOperation):
        return _fixed(ctx, index, params, expr.left, depth + 1, anchors) and _fixed(ctx, index, params, expr.right, depth + 1, anchors)
    if isinstance(expr, cst.Attribute):
        if expr.attr.value in PATH_ATTRIBUTES:
            return _fixed(ctx, index, params, expr.value, depth + 1, anchors)
        # ``settings.STATIC_DIR``: an attribute of a module-level object, not of a parameter
        root = expr.value
        while isinstance(root, cst.Attribute):
            root = root.value
        if isinstance(root, cst.Name) and root.value not in params and not index.assignments(root.value):
            anchors.append(root)
            return True
        return False
    if isinstance(expr, cst.Call):
        func = expr.func
        combines = bool(ctx.qualify(func) & PATH_COMBINERS)
        if not combines and isinstance(func, cst.Attribute) and func.attr.value in PATH_METHODS:
            combines = _fixed(ctx, index, params, func.value, depth + 1, anchors)
        return combines and all(_fixed(ctx, index, params, a.value, depth + 1, anchors) for a in expr.args)
    return False


def _params(fn: cst.FunctionDef):
    p = fn.params
    yield from p.posonly_params
    yield from p.params
    yield from p.kwonly_params
    if isinstance(p.star_arg, cst.Param):
        yield p.star_arg
    if p.star_kwarg is not None:
        yield p.star_kwarg
