"""LL005: ``# noqa: LLxxx`` directives that silenced nothing, as reports with a safe fix.

The engine calls this after the rules of a file ran and their findings went through the noqa
index (which records which directive silenced what). Directives are matched to libcst
``Comment`` nodes by position, so the fix is an ordinary node replacement: the comment loses
the unused codes, or disappears (with the spaces before it) when nothing else is left in it.
"""

from __future__ import annotations

import re
from typing import Callable, Collection, Dict, List, Mapping, Tuple

import libcst as cst

from leaklint import traversal
from leaklint.diagnostics import Applicability
from leaklint.rule import Fix, Report
from leaklint.suppression import NOQA, Directive, NoqaIndex


def _comments(module: cst.Module) -> List[Tuple[cst.Comment, cst.CSTNode]]:
    """Every comment with the node that holds it (``TrailingWhitespace`` or ``EmptyLine``)."""
    found: List[Tuple[cst.Comment, cst.CSTNode]] = []
    todo: List[cst.CSTNode] = [module]
    while todo:
        node = todo.pop()
        comment = getattr(node, "comment", None)
        if isinstance(comment, cst.Comment) and isinstance(node, (cst.TrailingWhitespace, cst.EmptyLine)):
            found.append((comment, node))
        todo.extend(traversal.children(node))
    return found


def _rewritten(comment: str, idle: Collection[str]) -> str:
    """The comment without the idle codes ("" when nothing is left of it)."""
    match = NOQA.search(comment)
    if match is None:
        return comment
    spelled = [c for c in re.split(r"[\s,]+", (match.group("codes") or "").strip()) if c]
    kept = [c for c in spelled if c.upper() not in idle]
    directive = ("# noqa: " + ", ".join(kept)) if kept else ""
    text = (comment[:match.start()] + directive + comment[match.end():]).strip()
    if not text or text == "#":
        return ""
    return text if text.startswith("#") else "# " + text


def judge(checked: Collection[str]) -> Callable[[str], bool]:
    """Which directive codes LL005 judges: those of the rules that ran on the file, and ``LL``
    codes that name no rule at all (a typo, or a rule that was removed)."""
    from leaklint.registry import all_rules

    known = all_rules()
    return lambda code: code in checked or (code.startswith("LL") and code not in known)


def needs_look(index: NoqaIndex, checked: Collection[str]) -> bool:
    judged = judge(checked)
    return any(judged(c) for d in index.directives for c in d.codes)


def reports(module: cst.Module, positions: Mapping[cst.CSTNode, object], index: NoqaIndex,
            checked: Collection[str], rule) -> List[Report]:
    """LL005 reports for the unused directives (``positions`` must hold every comment)."""
    from leaklint.registry import all_rules

    known = all_rules()
    unused = index.unused(judge(checked))
    if not unused:
        return []
    at: Dict[Tuple[int, int], Tuple[cst.Comment, cst.CSTNode]] = {}
    for comment, holder in _comments(module):
        rng = positions.get(comment)
        if rng is not None:
            at[(rng.start.line, rng.start.column)] = (comment, holder)
    out: List[Report] = []
    for directive, idle in unused:
        found = at.get((directive.row, directive.column))
        if found is None:
            continue
        comment, holder = found
        parts = [f"{label}: " + ", ".join(f"`{c}`" for c in group) for label, group in
                 (("unused", [c for c in idle if c in known]), ("unknown", [c for c in idle if c not in known]))
                 if group]
        out.append(Report(rule, comment, rule.message.format(codes="; ".join(parts)),
                          _fix(comment, holder, directive, idle, rule), None))
    return out


def _fix(comment: cst.Comment, holder: cst.CSTNode, directive: Directive, idle: List[str], rule) -> Fix:
    text = _rewritten(comment.value, set(idle))
    if text:
        replacement: Dict[cst.CSTNode, object] = {comment: comment.with_changes(value=text)}
    else:
        replacement = {holder: holder.with_changes(comment=None, whitespace=cst.SimpleWhitespace(""))}
    return Fix(rule.fix_title, Applicability.SAFE, replacement)  # type: ignore[arg-type]
