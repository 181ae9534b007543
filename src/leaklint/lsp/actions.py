"""Code actions: a quick fix per fixable finding, "Disable CODE for this line", and fix-all.

A finding's quick fix is the edit of its own fix (the engine computes it, as for ``--output-format
json``). It is offered when ``leaklint --fix`` would apply it (safe fixes), or, labelled as unsafe,
when the configuration enables unsafe fixes; it is the preferred action only when safe. Fix-all
(``source.fixAll.leaklint``, what ``editor.codeActionsOnSave`` runs) is the engine's fix loop with
safe fixes only.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from lsprotocol import types

from leaklint.diagnostics import Applicability, Diagnostic
from leaklint.fixes import text_edits as line_edits

from leaklint.lsp import convert
from leaklint.lsp.text import comments, noqa_edit

FIX_ALL = "source.fixAll.leaklint"
KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.SourceFixAll, FIX_ALL]


def wanted(only: Optional[Sequence[str]], kind: str) -> bool:
    """LSP's rule: a kind is wanted when ``only`` names it or a kind it refines (``source`` -> ``source.fixAll``)."""
    if not only:
        return True
    return any(kind == k or kind.startswith(f"{k}.") for k in only)


def offered(d: Diagnostic, unsafe_fixes: bool) -> bool:
    if d.fix is None or not d.fix.edits:
        return False
    return d.fix.applicability is Applicability.SAFE or (unsafe_fixes and d.fix.applicability is Applicability.UNSAFE)


def quick_fixes(uri: str, lines: Sequence[str], codec, findings: Sequence[Diagnostic], wanted_range: types.Range,
                unsafe_fixes: bool) -> List[types.CodeAction]:
    out: List[types.CodeAction] = []
    found = comments("".join(lines))
    noqa_lines = set()
    for d in findings:
        lsp = convert.to_lsp(lines, codec, d)
        if not convert.overlaps(lsp.range, wanted_range):
            continue
        if offered(d, unsafe_fixes):
            safe = d.fix.applicability is Applicability.SAFE
            title = f"{d.code}: {d.fix.title}" + ("" if safe else " (unsafe fix)")
            out.append(types.CodeAction(
                title=title, kind=types.CodeActionKind.QuickFix, diagnostics=[lsp], is_preferred=safe,
                edit=types.WorkspaceEdit(changes={uri: convert.text_edits(d.fix.edits)})))
        if d.code.startswith(convert.TOOL_FAMILY) or (d.noqa_row, d.code) in noqa_lines:
            continue  # a syntax error or an unreadable file cannot be silenced by a comment
        edit = _noqa(lines, codec, d, found)
        if edit is not None:
            noqa_lines.add((d.noqa_row, d.code))
            out.append(types.CodeAction(
                title=f"Disable {d.code} for this line", kind=types.CodeActionKind.QuickFix, diagnostics=[lsp],
                edit=types.WorkspaceEdit(changes={uri: [edit]})))
    return out


def _noqa(lines: Sequence[str], codec, d: Diagnostic, found) -> Optional[types.TextEdit]:
    """On the finding's line, or else the first line of its statement (both silence it)."""
    for row in (d.noqa_row, *d.noqa_rows):
        edit = noqa_edit(list(lines), row - 1, d.code, found)
        if edit is not None:
            return types.TextEdit(range=types.Range(start=convert.position(lines, codec, edit.line, edit.start),
                                                    end=convert.position(lines, codec, edit.line, edit.end)),
                                  new_text=edit.text)
    return None


def fix_all_action(uri: str, old: str, new: Optional[str], kind: str = FIX_ALL) -> Optional[types.CodeAction]:
    if new is None or new == old:
        return None
    return types.CodeAction(title="leaklint: fix all safely fixable problems", kind=kind,
                            edit=types.WorkspaceEdit(changes={uri: convert.text_edits(line_edits(old, new))}))
