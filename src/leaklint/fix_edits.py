"""A fix's text edits (JSON/SARIF show them) in time proportional to what the fix touches.

Applying each fix to the whole module and diffing the whole file made a module with N fixable
findings cost N full code generations and N whole-file diffs: quadratic. A node replacement only
changes the code of the top-level statement that holds the node, so this regenerates that
statement alone and diffs its lines; a fix's imports and module statements are applied once per
distinct set (most fixes of a file share one) and diffed once. The edits are the ones the whole
module's diff gives; when they could overlap, or a replaced node lies outside the statements,
the whole module is done the plain way.
"""

from __future__ import annotations

import bisect
import difflib
from typing import Dict, List, Mapping, Optional, Tuple

import libcst as cst

from leaklint import fixes as fixes_mod
from leaklint.diagnostics import Location, TextEdit
from leaklint.rule import Fix


class EditMaker:
    """One per linted file version; ``edits(fix)`` for each of its fixes."""

    def __init__(self, module: cst.Module, positions: Mapping[cst.CSTNode, object]) -> None:
        self.module = module
        self.positions = positions
        self._codes: Optional[List[str]] = None
        self._starts: List[int] = []
        self._extras: Dict[tuple, Tuple[TextEdit, ...]] = {}

    def _layout(self) -> None:
        """Each top-level statement's code and first line (1-based)."""
        module = self.module
        codes = [module.code_for_node(s) for s in module.body]
        line = 1 + sum(module.code_for_node(h).count("\n") for h in module.header)
        starts = []
        for code in codes:
            starts.append(line)
            line += code.count("\n")
        self._codes, self._starts = codes, starts

    def edits(self, fix: Fix) -> Tuple[TextEdit, ...]:
        try:
            local = self._local(fix)
        except _Fallback:
            local = None
        if local is None:
            return self._whole(fix)
        extra = self._extra(fix) if (fix.imports or fix.module_statements) else ()
        edits = sorted([*local, *extra], key=lambda e: (e.start.row, e.end.row))
        for a, b in zip(edits, edits[1:]):
            if b.start.row < a.end.row or (a.start.row == a.end.row == b.start.row):
                return self._whole(fix)  # could interact: the plain way
        return tuple(edits)

    def _whole(self, fix: Fix) -> Tuple[TextEdit, ...]:
        return fixes_mod.text_edits(self.module.code, fixes_mod.apply(self.module, [fix]).code)

    def _extra(self, fix: Fix) -> Tuple[TextEdit, ...]:
        key = (tuple(fix.imports), tuple(fix.module_statements))
        if key not in self._extras:
            only = Fix(fix.title, fix.applicability, {}, fix.imports, fix.module_statements)
            self._extras[key] = self._whole(only)
        return self._extras[key]

    def _local(self, fix: Fix) -> Optional[List[TextEdit]]:
        if self._codes is None:
            self._layout()
        assert self._codes is not None
        by_statement: Dict[int, Dict[cst.CSTNode, object]] = {}
        for node, replacement in fix.replacements.items():
            rng = self.positions.get(node)
            if rng is None or isinstance(replacement, (cst.RemovalSentinel, cst.FlattenSentinel)):
                raise _Fallback
            index = bisect.bisect_right(self._starts, rng.start.line) - 1  # type: ignore[attr-defined]
            if index < 0:
                raise _Fallback  # in the module's header
            by_statement.setdefault(index, {})[node] = replacement
        out: List[TextEdit] = []
        for index, replacements in sorted(by_statement.items()):
            statement = self.module.body[index]
            new = statement.visit(fixes_mod._Replacer(replacements))
            if not isinstance(new, cst.CSTNode):
                raise _Fallback
            out.extend(_diff(self._codes[index], self.module.code_for_node(new), self._starts[index]))
        return out


class _Fallback(Exception):
    pass


def _diff(old: str, new: str, first_line: int) -> List[TextEdit]:
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag != "equal":
            edits.append(TextEdit(Location(first_line + i1, 1), Location(first_line + i2, 1), "".join(b[j1:j2])))
    return edits
