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
from typing import Dict, FrozenSet, Optional

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
FILE_NOQA = re.compile(
    r"#\s*leaklint\s*:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
ALL: FrozenSet[str] = frozenset({"*"})


def _codes(text: Optional[str]) -> FrozenSet[str]:
    if not text:
        return ALL
    return frozenset(c.upper() for c in re.split(r"[\s,]+", text.strip()) if c)


@dataclass
class NoqaIndex:
    lines: Dict[int, FrozenSet[str]] = field(default_factory=dict)
    file: FrozenSet[str] = frozenset()

    def suppressed(self, code: str, *rows: int) -> bool:
        if self.file and (self.file is ALL or "*" in self.file or code in self.file):
            return True
        for row in rows:
            codes = self.lines.get(row)
            if codes is not None and ("*" in codes or code in codes):
                return True
        return False


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
            index.lines[row] = index.lines.get(row, frozenset()) | _codes(match.group("codes"))
    return index
