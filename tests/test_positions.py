"""``leaklint.positions`` gives exactly ``PositionProvider``'s ranges for the nodes findings need."""

from __future__ import annotations

import glob
import os

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from leaklint import positions

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILES = sorted(glob.glob(os.path.join(ROOT, "fixtures", "**", "*.py"), recursive=True))[::3] + \
    sorted(glob.glob(os.path.join(ROOT, "src", "leaklint", "*.py")))


def _nodes(module):
    nodes = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node):
            nodes.append(node)
            return True

    module.visit(Collect())
    return nodes


def _check(module, wanted):
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    got = positions.of(module, wanted)
    for node in wanted:
        assert node in got
    for node, rng in got.items():
        assert expected[node] == rng
    # statements come in the same order (the engine's innermost-statement search depends on it)
    statements = (cst.SimpleStatementLine, cst.BaseCompoundStatement)
    order = [n for n in expected if isinstance(n, statements) and n in got]
    assert order == [n for n in got if isinstance(n, statements)]
    return got


def test_full_is_position_provider():
    module = cst.parse_module("import os\n\n\ndef f(x):\n    return os.path.join(x, 'y')\n")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert list(positions.full(module).items()) == list(expected.items())


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_same_ranges_as_position_provider(path):
    with open(path, "rb") as handle:
        try:
            module = cst.parse_module(handle.read())
        except cst.ParserSyntaxError:
            return
    nodes = _nodes(module)
    if len(nodes) < 2:
        return
    # a few nodes spread over the file, deep ones included
    for step in (7, 31, max(1, len(nodes) // 3)):
        wanted = [n for n in nodes[1::step] if not isinstance(n, cst.Module)]
        _check(module, wanted[:6])


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_and_a_file_without_trailing_newline(newline):
    source = newline.join([
        "# header", "", "x = '''a", "b'''", "def f(a,", "      b):  # c", "    return (a +", "        b)",
        "class C:", "    y = 1", "z = f(1, 2)"])
    module = cst.parse_module(source)
    call = module.body[-1].body[0].value
    got = _check(module, [call, module.body[-1]])
    assert got[call].start.line == 11


def test_a_node_outside_the_statements_gets_the_whole_module():
    module = cst.parse_module("# comment\n\nx = 1\n")
    header = module.header[0]
    got = positions.of(module, [header, module])
    assert list(got.items()) == list(positions.full(module).items())
