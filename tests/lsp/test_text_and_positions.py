"""Columns in the client's units, and ``# noqa`` edits that respect strings and existing comments."""

from __future__ import annotations

import pytest

pytest.importorskip("pygls", reason="needs pygls: pip install -e '.[test]'")

from lsprotocol import types  # noqa: E402
from pygls.workspace.position_codec import PositionCodec  # noqa: E402

from leaklint.diagnostics import Diagnostic, Location  # noqa: E402
from leaklint.lsp import convert  # noqa: E402
from leaklint.lsp.text import noqa_code_at, noqa_edit  # noqa: E402

LINE = 's = "\U0001F600"; f = open(p)\n'  # the emoji is 1 code point, 2 UTF-16 units, 4 UTF-8 bytes


def finding(start: int, end: int) -> Diagnostic:
    return Diagnostic("LL503", "unclosed-file", "File is never closed", "f.py", Location(1, start), Location(1, end), 1)


@pytest.mark.parametrize("encoding, shift", [(types.PositionEncodingKind.Utf16, 1),
                                              (types.PositionEncodingKind.Utf32, 0),
                                              (types.PositionEncodingKind.Utf8, 3)])
def test_columns_after_a_wide_character_follow_the_negotiated_encoding(encoding, shift) -> None:
    start = LINE.index("open")  # code points, 0-based
    rng = convert.diagnostic_range([LINE], PositionCodec(encoding), finding(start + 1, start + len("open(p)") + 1))
    assert (rng.start.character, rng.end.character) == (start + shift, start + len("open(p)") + shift)


def test_a_point_finding_underlines_the_rest_of_its_line() -> None:
    rng = convert.diagnostic_range(["def oops(:\n"], PositionCodec(), finding(10, 10))
    assert (rng.start.character, rng.end.character) == (9, 10)


def test_noqa_goes_after_the_code_and_not_into_a_string() -> None:
    lines = ['url = "http://x/#frag"; f = open(p)\n']
    edit = noqa_edit(lines, 0, "LL503")
    assert (edit.start, edit.end, edit.text) == (len(lines[0]) - 1, len(lines[0]) - 1, "  # noqa: LL503")


def test_noqa_merges_into_codes_and_respects_a_bare_noqa() -> None:
    lines = ["f = open(p)  # noqa: E501 because\n", "g = open(p)  # noqa\n", "h = open(p)  # noqa: LL503\n"]
    merged = noqa_edit(lines, 0, "LL503")
    assert lines[0][:merged.start] + merged.text + lines[0][merged.end:] == "f = open(p)  # noqa: E501, LL503 because\n"
    assert noqa_edit(lines, 1, "LL503") is None and noqa_edit(lines, 2, "LL503") is None


def test_a_line_ending_inside_a_multiline_string_gets_no_comment() -> None:
    lines = ['text = """first\n', 'second"""\n']
    assert noqa_edit(lines, 0, "LL503") is None
    assert noqa_edit(lines, 1, "LL503") is not None


def test_the_code_under_the_cursor_in_a_noqa_comment() -> None:
    lines = ["f = open(p)  # noqa: E501, ll503\n"]
    at = lines[0].index("ll503")
    assert noqa_code_at(lines, 0, at + 2) == "LL503"
    assert noqa_code_at(lines, 0, lines[0].index("E501")) == "E501"
    assert noqa_code_at(lines, 0, 2) is None
