"""Plain, picklable result types.

Findings leave the engine (and worker processes) as these frozen dataclasses, never as CST nodes,
so that linting and fixing can run in parallel and results can be cached or serialised.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple


class Applicability(str, enum.Enum):
    """How sure we are that a fix keeps the program's meaning (ruff's three levels)."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    DISPLAY_ONLY = "display-only"


@dataclass(frozen=True)
class Location:
    """1-based row and 1-based column, as ruff and flake8 print them."""

    row: int
    column: int


@dataclass(frozen=True)
class TextEdit:
    """Replace the text between two locations with ``content`` (end exclusive)."""

    start: Location
    end: Location
    content: str


@dataclass(frozen=True)
class FixView:
    """What a user (and JSON output) sees of a fix; the fix itself is applied inside the engine."""

    title: str
    applicability: Applicability
    edits: Tuple[TextEdit, ...] = ()


@dataclass(frozen=True)
class Diagnostic:
    code: str
    name: str
    message: str
    filename: str
    start: Location
    end: Location
    noqa_row: int
    fix: Optional[FixView] = None
    #: other rows whose ``# noqa`` also silences this finding (the first line of a multi-line statement)
    noqa_rows: Tuple[int, ...] = field(default=(), compare=False)

    def sort_key(self) -> tuple:
        return (self.filename, self.start.row, self.start.column, self.code)

    def is_fixable(self, unsafe: bool) -> bool:
        if self.fix is None:
            return False
        if self.fix.applicability is Applicability.SAFE:
            return True
        return unsafe and self.fix.applicability is Applicability.UNSAFE
