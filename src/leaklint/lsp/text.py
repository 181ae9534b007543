"""Text-level helpers: the bytes leaklint lints for an editor buffer, and ``# noqa`` comments in it.

Columns here are code points, 0-based, on 0-based lines (the server converts them to the client's
position encoding). Comments are found with ``tokenize``, as ``suppression`` finds them, so a ``#``
inside a string is never taken for one.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from leaklint.suppression import NOQA

CODE = re.compile(r"[A-Za-z]+[0-9]+")


def encode(text: str) -> bytes:
    """The buffer as the bytes the file would hold: in its coding cookie's encoding when it declares one."""
    data = text.encode("utf-8")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:
        return data
    if encoding in ("utf-8", "utf-8-sig"):
        return data
    try:
        return text.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return data


@dataclass(frozen=True)
class Comments:
    """Per line: the comment token's (start column, text); and lines that end inside a string."""

    by_line: Dict[int, Tuple[int, str]]
    in_string: frozenset


def comments(text: str) -> Comments:
    by_line: Dict[int, Tuple[int, str]] = {}
    in_string = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                by_line[tok.start[0] - 1] = (tok.start[1], tok.string)
            elif tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                in_string.update(range(tok.start[0] - 1, tok.end[0] - 1))
            elif getattr(tokenize, "FSTRING_MIDDLE", None) == tok.type and tok.end[0] > tok.start[0]:
                in_string.update(range(tok.start[0] - 1, tok.end[0] - 1))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # a file that does not tokenize: comments found so far are still right
    return Comments(by_line, frozenset(in_string))


@dataclass(frozen=True)
class LineEdit:
    """Replace columns ``start``-``end`` of ``line`` with ``text``."""

    line: int
    start: int
    end: int
    text: str


def noqa_edit(lines: List[str], line: int, code: str, found: Optional[Comments] = None) -> Optional[LineEdit]:
    """The edit that silences ``code`` on ``line``: merged into the line's ``# noqa: ...`` when it has
    one, else a ``  # noqa: CODE`` comment appended. None when the line ends inside a string."""
    if not 0 <= line < len(lines):
        return None
    found = found or comments("".join(lines))
    if line in found.in_string:
        return None
    content = lines[line].rstrip("\r\n")
    comment = found.by_line.get(line)
    if comment is not None:
        column, text = comment
        match = NOQA.search(text)
        if match is not None:
            codes = match.group("codes")
            if codes is None:
                return None  # a bare ``# noqa`` already silences every code
            if code.upper() in {c.upper() for c in re.split(r"[\s,]+", codes) if c}:
                return None
            end = column + match.end("codes")
            return LineEdit(line, end, end, f", {code}")
    stripped = content.rstrip()
    return LineEdit(line, len(stripped), len(content), f"  # noqa: {code}")


def noqa_code_at(lines: List[str], line: int, column: int, found: Optional[Comments] = None) -> Optional[str]:
    """The rule code under the cursor inside a ``# noqa: ...`` comment, if any."""
    if not 0 <= line < len(lines):
        return None
    found = found or comments("".join(lines))
    comment = found.by_line.get(line)
    if comment is None:
        return None
    start, text = comment
    match = NOQA.search(text)
    if match is None or match.group("codes") is None:
        return None
    offset = start + match.start("codes")
    for code in CODE.finditer(match.group("codes")):
        if offset + code.start() <= column <= offset + code.end():
            return code.group(0).upper()
    return None
