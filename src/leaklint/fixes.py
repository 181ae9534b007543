"""Applying fixes: non-overlapping node replacements, imports, module statements; then the loop.

One identity-keyed transformer applies every chosen fix of a pass (Fixit's lesson: repeated
``deep_replace`` breaks node identity). Imports go through libcst's ``AddImportsVisitor``. The
engine re-parses and re-lints after each pass until nothing changes (ruff's loop), and keeps the
original bytes if a pass produces code that does not parse.
"""

from __future__ import annotations

import bisect
import difflib
from typing import Dict, Iterable, List, Mapping, Sequence, Tuple

import libcst as cst
from libcst.metadata import CodeRange

from leaklint.diagnostics import Location, TextEdit
from leaklint.rule import Fix

MAX_PASSES = 10


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: Mapping[cst.CSTNode, object]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        replacement = self.replacements.get(original_node)
        if replacement is None:
            return updated_node
        return replacement


def _overlaps(a: CodeRange, b: CodeRange) -> bool:
    a0, a1 = (a.start.line, a.start.column), (a.end.line, a.end.column)
    b0, b1 = (b.start.line, b.start.column), (b.end.line, b.end.column)
    return a0 < b1 and b0 < a1


def choose(fixes: Sequence[Fix], positions: Mapping[cst.CSTNode, CodeRange]) -> List[Fix]:
    """Fixes whose replaced nodes do not overlap an earlier chosen fix (the rest wait a pass)."""
    chosen: List[Fix] = []
    # the chosen spans, disjoint and sorted: a new span can only overlap its two neighbours
    # (checking every taken span made N fixes cost N^2)
    starts: List[Tuple[int, int]] = []
    ends: List[Tuple[int, int]] = []

    def first(fix: Fix) -> Tuple[int, int]:
        spans = [positions[n] for n in fix.replacements if n in positions]
        return min(((s.start.line, s.start.column) for s in spans), default=(0, 0))

    def free(s0: Tuple[int, int], s1: Tuple[int, int]) -> bool:
        i = bisect.bisect_right(starts, s0)
        if i > 0 and starts[i - 1] < s1 and s0 < ends[i - 1]:
            return False
        return not (i < len(starts) and starts[i] < s1 and s0 < ends[i])

    for fix in sorted(fixes, key=first):
        spans = [positions[n] for n in fix.replacements if n in positions]
        if len(spans) != len(fix.replacements):
            continue
        merged = _union([((s.start.line, s.start.column), (s.end.line, s.end.column)) for s in spans])
        if not all(free(a, b) for a, b in merged):
            continue
        chosen.append(fix)
        for a, b in merged:
            i = bisect.bisect_right(starts, a)
            starts.insert(i, a)
            ends.insert(i, b)
    return chosen


def _union(spans: List[Tuple[Tuple[int, int], Tuple[int, int]]]) -> List[Tuple[Tuple[int, int], Tuple[int, int]]]:
    """One fix's spans as disjoint intervals (its own replacements may nest)."""
    out: List[Tuple[Tuple[int, int], Tuple[int, int]]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def apply(module: cst.Module, fixes: Iterable[Fix]) -> cst.Module:
    fixes = list(fixes)
    mapping: Dict[cst.CSTNode, object] = {}
    for fix in fixes:
        mapping.update(fix.replacements)
    new = module.visit(_Replacer(mapping)) if mapping else module
    specs = [spec for fix in fixes for spec in fix.imports]
    statements: List[str] = []
    for fix in fixes:
        for stmt in fix.module_statements:
            if stmt not in statements:
                statements.append(stmt)
    if statements:
        new = _insert_module_statements(new, statements)
    if specs:
        # imported here: libcst.codemod pulls in libcst.matchers (~0.4 s), which only fixes need
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor

        context = CodemodContext()
        for spec in specs:
            if spec.obj is None:
                AddImportsVisitor.add_needed_import(context, spec.module, asname=spec.asname)
            else:
                AddImportsVisitor.add_needed_import(context, spec.module, spec.obj, spec.asname)
        new = AddImportsVisitor(context).transform_module(new)
    return new


def _is_import_block(stmt: cst.CSTNode) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    return all(isinstance(s, (cst.Import, cst.ImportFrom)) for s in stmt.body) or (
        len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _insert_module_statements(module: cst.Module, statements: Sequence[str]) -> cst.Module:
    """Insert statements after the leading docstring/imports, once (skipped if already there)."""
    existing = {module.code_for_node(s).strip() for s in module.body}
    new_nodes = []
    for text in statements:
        if text.strip() in existing:
            continue
        new_nodes.append(cst.parse_statement(text, config=module.config_for_parsing))
    if not new_nodes:
        return module
    index = 0
    for i, stmt in enumerate(module.body):
        if _is_import_block(stmt):
            index = i + 1
        else:
            break
    body = list(module.body)
    if index < len(body):
        first_after = body[index]
        new_nodes[0] = new_nodes[0].with_changes(
            leading_lines=[cst.EmptyLine()] if index > 0 else []
        )
        body[index] = first_after.with_changes(leading_lines=[cst.EmptyLine(), cst.EmptyLine()]) \
            if isinstance(first_after, (cst.FunctionDef, cst.ClassDef)) and not first_after.leading_lines \
            else first_after
    body[index:index] = new_nodes
    return module.with_changes(body=body)


def text_edits(old: str, new: str) -> Tuple[TextEdit, ...]:
    """Line-granular edits turning ``old`` into ``new`` (what JSON/SARIF consumers apply)."""
    a = old.splitlines(keepends=True)
    b = new.splitlines(keepends=True)
    edits = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        edits.append(TextEdit(Location(i1 + 1, 1), Location(i2 + 1, 1), "".join(b[j1:j2])))
    return tuple(edits)


def unified_diff(old: str, new: str, path: str) -> str:
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=path, tofile=path
    ))
