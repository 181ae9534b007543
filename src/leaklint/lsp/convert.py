"""leaklint's findings and edits as LSP objects.

leaklint counts rows and columns from 1, in code points; LSP counts from 0, in the code units the
client negotiated (UTF-16 unless it said otherwise), so columns go through the document's codec.
"""

from __future__ import annotations

import inspect
from typing import List, Sequence

from lsprotocol import types

from leaklint import registry
from leaklint.diagnostics import Diagnostic, Location, TextEdit

SOURCE = "leaklint"
#: where each rule's documentation (its module's docstring, as `leaklint rule CODE` prints it) is read
DOCS_BASE = "https://github.com/leaklint/leaklint/blob/main/src/"
TOOL_FAMILY = "LL0"  # syntax errors, unreadable files, failed fixes: errors, not findings


def docs_url(code: str) -> str:
    try:
        rule = registry.rule_by_code(code)
    except KeyError:
        return DOCS_BASE
    module = inspect.getmodule(rule)
    name = module.__name__ if module is not None else "leaklint"
    return DOCS_BASE + name.replace(".", "/") + ".py"


def position(lines: Sequence[str], codec, line: int, column: int) -> types.Position:
    """0-based ``line`` and code-point ``column`` -> the client's units."""
    if line >= len(lines):
        return types.Position(line=len(lines), character=0)
    return codec.position_to_client_units(lines, types.Position(line=line, character=column))


def location(lines: Sequence[str], codec, at: Location) -> types.Position:
    return position(lines, codec, at.row - 1, at.column - 1)


def diagnostic_range(lines: Sequence[str], codec, d: Diagnostic) -> types.Range:
    start, end = location(lines, codec, d.start), location(lines, codec, d.end)
    if (start.line, start.character) == (end.line, end.character) and d.start.row - 1 < len(lines):
        # a point (a syntax error's offset): underline the rest of its line so it can be seen
        text = lines[d.start.row - 1].rstrip("\r\n")
        end = position(lines, codec, d.start.row - 1, max(len(text), d.start.column))
    return types.Range(start=start, end=end)


def to_lsp(lines: Sequence[str], codec, d: Diagnostic) -> types.Diagnostic:
    severity = types.DiagnosticSeverity.Error if d.code.startswith(TOOL_FAMILY) else types.DiagnosticSeverity.Warning
    return types.Diagnostic(
        range=diagnostic_range(lines, codec, d),
        message=d.message,
        severity=severity,
        code=d.code,
        code_description=types.CodeDescription(href=docs_url(d.code)),
        source=SOURCE,
        data={"name": d.name, "fix": d.fix.applicability.value if d.fix is not None else None},
    )


def text_edits(edits: Sequence[TextEdit]) -> List[types.TextEdit]:
    """The engine's edits are whole lines (column 1 to column 1): no code-unit conversion needed."""
    return [types.TextEdit(range=types.Range(start=types.Position(line=e.start.row - 1, character=e.start.column - 1),
                                             end=types.Position(line=e.end.row - 1, character=e.end.column - 1)),
                           new_text=e.content) for e in edits]


def same_range(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character, a.end.line, a.end.character) == \
        (b.start.line, b.start.character, b.end.line, b.end.character)


def overlaps(a: types.Range, b: types.Range) -> bool:
    a0, a1 = (a.start.line, a.start.character), (a.end.line, a.end.character)
    b0, b1 = (b.start.line, b.start.character), (b.end.line, b.end.character)
    return a0 <= b1 and b0 <= a1
