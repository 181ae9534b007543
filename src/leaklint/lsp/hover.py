"""Hover: a rule's documentation (``leaklint rule CODE``) on its finding and on its code in ``# noqa:``."""

from __future__ import annotations

from typing import Optional, Sequence

from lsprotocol import types

from leaklint import docs, registry
from leaklint.diagnostics import Diagnostic

from leaklint.lsp import convert
from leaklint.lsp.text import noqa_code_at


def rule_markdown(code: str) -> Optional[str]:
    try:
        rule = registry.rule_by_code(code)
    except KeyError:
        return None
    return docs.rule_doc(rule) + f"\n[Documentation]({convert.docs_url(code)})\n"


def hover(lines: Sequence[str], codec, findings: Sequence[Diagnostic], at: types.Position) -> Optional[types.Hover]:
    server_at = codec.position_from_client_units(list(lines), types.Position(line=at.line, character=at.character))
    code = noqa_code_at(list(lines), server_at.line, server_at.character)
    spot = None
    if code is None:
        for d in findings:
            rng = convert.diagnostic_range(lines, codec, d)
            if convert.overlaps(rng, types.Range(start=at, end=at)):
                code, spot = d.code, rng
                break
    if code is None:
        return None
    text = rule_markdown(code)
    if text is None:
        return None
    return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text), range=spot)
