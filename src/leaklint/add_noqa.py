"""``--add-noqa``: write a ``# noqa: CODE`` comment for every current finding (ruff's ``--add-noqa``).

The comment goes at the end of the finding's line, or of its statement's first line when the
finding's line ends inside a string or a backslash continuation (where a comment would change
the code). An existing ``# noqa: ...`` on that line gets the new codes added; a bare ``# noqa``
already silences everything; any other comment is kept and the directive follows it. Files are
written atomically, keeping their encoding, BOM and line endings.
"""

from __future__ import annotations

import io
import tokenize
from collections import defaultdict
from typing import Dict, List, Sequence, Set, Tuple

from leaklint.deployment_files import add_noqa as add_deployment_noqa, is_deployment_file
from leaklint.diagnostics import Diagnostic
from leaklint.suppression import NOQA, parse_codes
from leaklint.writer import WriteError, write_atomic

#: LL001-LL004 are about the file itself (no line to mark reliably), LL005 is about a directive
NOT_MARKED = frozenset({"LL001", "LL002", "LL003", "LL004", "LL005"})


def add_noqa(diagnostics: Sequence[Diagnostic]) -> Tuple[int, int]:
    """``(directives added, files changed)``."""
    by_file: Dict[str, List[Diagnostic]] = defaultdict(list)
    for d in diagnostics:
        if d.code not in NOT_MARKED:
            by_file[d.filename].append(d)
    added = changed = 0
    for filename, found in sorted(by_file.items()):
        if is_deployment_file(filename) and not filename.endswith((".py", ".pyi")):
            count = add_deployment_noqa(filename, found)  # Dockerfiles, YAML, scripts: their own comment rules
        else:
            count = _add_to_file(filename, found)
        if count:
            added += count
            changed += 1
    return added, changed


def _line_ends(data: bytes) -> Tuple[Set[int], Dict[int, str]]:
    """Rows whose end is outside any string or continuation, and the comment on each row."""
    safe: Set[int] = set()
    comments: Dict[int, str] = {}
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type in (tokenize.NEWLINE, tokenize.NL):
                safe.add(tok.start[0])
            elif tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.string
    except (tokenize.TokenError, SyntaxError):
        pass
    return safe, comments


def _add_to_file(filename: str, found: Sequence[Diagnostic]) -> int:
    try:
        with open(filename, "rb") as handle:
            data = handle.read()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        text = data.decode(encoding)
    except (OSError, SyntaxError, LookupError, UnicodeDecodeError):
        return 0
    safe, comments = _line_ends(data)
    wanted: Dict[int, List[str]] = defaultdict(list)
    for d in found:
        row = next((r for r in (d.noqa_row, *d.noqa_rows) if r in safe), None)
        if row is not None and d.code not in wanted[row]:
            wanted[row].append(d.code)
    lines = text.splitlines(keepends=True)
    added = 0
    for row, codes in wanted.items():
        if row > len(lines):
            continue
        line = lines[row - 1]
        body = line.rstrip("\r\n")
        newline = line[len(body):]
        comment = comments.get(row)
        match = NOQA.search(comment) if comment else None
        if match is not None:
            existing = parse_codes(match.group("codes"))
            if "*" in existing:
                continue
            new = [c for c in codes if c not in existing]
            if not new:
                continue
            spelled = [c.strip() for c in (match.group("codes") or "").replace(",", " ").split()]
            start = body.rfind(comment)
            directive = "# noqa: " + ", ".join(spelled + new)
            body = body[:start] + comment[:match.start()] + directive + comment[match.end():]
        else:
            new = codes
            body = body.rstrip() + "  # noqa: " + ", ".join(codes)
        lines[row - 1] = body + newline
        added += len(new)
    if not added:
        return 0
    try:
        write_atomic(filename, "".join(lines).encode(encoding))
    except WriteError:
        return 0
    return added
