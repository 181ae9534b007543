"""``ownership_map.child_nodes`` is ``ast.iter_child_nodes`` without the ``ctx``/operator markers
(the map phase's walks rely on it)."""

from __future__ import annotations

import ast
import glob
import os

from leaklint.semantics.ownership_map import child_nodes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_same_children_in_the_same_order():
    paths = sorted(glob.glob(os.path.join(ROOT, "src", "leaklint", "**", "*.py"), recursive=True))
    paths += sorted(glob.glob(os.path.join(ROOT, "fixtures", "**", "*.py"), recursive=True))[::5]
    checked = 0
    for path in paths:
        with open(path, "rb") as handle:
            try:
                tree = ast.parse(handle.read())
            except SyntaxError:
                continue
        for node in ast.walk(tree):
            expected = [c for c in ast.iter_child_nodes(node) if not _marker(c)]
            assert [id(c) for c in child_nodes(node)] == [id(c) for c in expected]
            checked += 1
    assert checked > 10000


def _marker(node: ast.AST) -> bool:
    return isinstance(node, (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop))


def test_markers_are_left_out_and_real_children_kept():
    compare = ast.parse("a < b in c", mode="eval").body
    assert [type(c) for c in child_nodes(compare)] == [ast.Name, ast.Name, ast.Name]
    augmented = ast.parse("x += f(y)").body[0]
    assert [type(c) for c in child_nodes(augmented)] == [ast.Name, ast.Call]


def test_a_field_missing_from_a_node_is_skipped_as_ast_does():
    node = ast.Name(id="x")  # no ctx
    assert child_nodes(node) == list(ast.iter_child_nodes(node)) == []
    call = ast.Call(func=ast.Name(id="f", ctx=ast.Load()), args=[ast.Constant(1)], keywords=[])
    assert [id(c) for c in child_nodes(call)] == [id(c) for c in ast.iter_child_nodes(call)]
