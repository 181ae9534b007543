"""``# noqa`` handling, done once per file by the engine (rules never look at comments).

Grammar (flake8/ruff): ``# noqa`` silences every code on its line; ``# noqa: LL101, LL102``
(commas or spaces, case-insensitive) silences those codes; a ``# leaklint: noqa`` comment on a
line of its own silences the whole file, optionally only for ``: codes``.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from typing import Callable, Dict, FrozenSet, List, Optional, Set, Tuple

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
FILE_NOQA = re.compile(
    r"#\s*leaklint\s*:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
ALL: FrozenSet[str] = frozenset({"*"})


def parse_codes(text: Optional[str]) -> FrozenSet[str]:
    """The codes of a directive's ``: LL101, LL102`` part; ``ALL`` for a bare directive."""
    if not text:
        return ALL
    return frozenset(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


_codes = parse_codes


@dataclass
class Directive:
    """One ``# noqa: CODES`` comment with explicit codes (a bare ``# noqa`` is never "unused":
    flake8 and ruff read it too)."""

    row: int
    column: int  # 0-based, of the comment's ``#``
    comment: str  # the whole comment token
    codes: FrozenSet[str]


@dataclass
class NoqaIndex:
    lines: Dict[int, FrozenSet[str]] = field(default_factory=dict)
    file: FrozenSet[str] = frozenset()
    directives: List[Directive] = field(default_factory=list)
    #: (row, code) pairs that silenced a finding (``*`` for a bare directive)
    used: Set[Tuple[int, str]] = field(default_factory=set)

    def suppressed(self, code: str, *rows: int) -> bool:
        if self.file and (self.file is ALL or "*" in self.file or code in self.file):
            return True
        for row in rows:
            codes = self.lines.get(row)
            if codes is not None and ("*" in codes or code in codes):
                self.used.add((row, code if code in codes else "*"))
                return True
        return False

    def unused(self, judged: Callable[[str], bool]) -> List[Tuple[Directive, List[str]]]:
        """Directives naming ``judged`` codes (rules that ran on the file, unknown LL codes) that
        silenced nothing, each with those codes. Other tools' codes (``F401``) are never ours."""
        out = []
        for directive in self.directives:
            if self.file:
                break  # a file-level directive already silences the file: line directives are moot
            idle = sorted(c for c in directive.codes if judged(c) and (directive.row, c) not in self.used)
            if idle:
                out.append((directive, idle))
        return out


def build_index(source: bytes) -> NoqaIndex:
    """Scan comments with ``tokenize`` (so ``"# noqa"`` inside a string does not count).

    Files without the word ``noqa`` (almost all of them) cost one substring search.
    """
    index = NoqaIndex()
    if b"noqa" not in source.lower():
        return index
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError):
        return index
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        file_match = FILE_NOQA.match(tok.string)
        if file_match:
            if tok.line.strip().startswith("#"):
                index.file = index.file | _codes(file_match.group("codes"))
            continue
        match = NOQA.search(tok.string)
        if match:
            row = tok.start[0]
            codes = _codes(match.group("codes"))
            index.lines[row] = index.lines.get(row, frozenset()) | codes
            if codes is not ALL:
                index.directives.append(Directive(row, tok.start[1], tok.string, codes))
    return index
