"""``--statistics``: one line per rule with its count, as ruff and flake8 print it."""

from __future__ import annotations

import collections
import json
from typing import List

from leaklint.diagnostics import Diagnostic


def render(diagnostics: List[Diagnostic], unsafe: bool, as_json: bool = False) -> str:
    counts = collections.Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    fixable = collections.Counter(d.code for d in diagnostics if d.is_fixable(unsafe))
    rows = []
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        mark = "[*]" if fixable[code] == count else ("[-]" if fixable[code] else "[ ]")
        rows.append((count, code, mark, names[code]))
    if as_json:
        return json.dumps([{"code": c, "name": n, "count": k, "fixable": m == "[*]"} for k, c, m, n in rows],
                          indent=2) + "\n"
    width = max((len(str(r[0])) for r in rows), default=1)
    return "".join(f"{k:>{width}}\t{c}\t{m} {n}\n" for k, c, m, n in rows)
