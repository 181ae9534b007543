"""What keeps a file's cost linear in its findings: the statement lookup behind noqa, the fix
choice and the fix edits give the very answers of the plain quadratic ways they replaced."""

import glob
import os
import tempfile

import libcst as cst
import pytest

from leaklint import fixes as fixes_mod, positions
from leaklint.engine import Linted
from leaklint.fix_edits import EditMaker
from leaklint.registry import all_rules
from leaklint.rule import Invalid, dedent
from leaklint.runner import summarise_path
from leaklint.semantics.project import ProjectFacts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = sorted(glob.glob(os.path.join(ROOT, "fixtures", "**", "*.py"), recursive=True))[::4]


def _plain_innermost(ranges, target):
    start, end = (target.start.line, target.start.column), (target.end.line, target.end.column)
    best = None
    for rng in ranges:
        s0, s1 = (rng.start.line, rng.start.column), (rng.end.line, rng.end.column)
        if s0 <= start and end <= s1 and (best is None or s0 >= best):
            best = s0
    return None if best is None else best[0]


@pytest.mark.parametrize("path", FIXTURES, ids=[os.path.relpath(p, ROOT) for p in FIXTURES])
def test_statement_index_matches_the_linear_scan(path):
    with open(path, "rb") as handle:
        module = cst.parse_module(handle.read())
    ranges = positions.full(module)
    statements = [r for n, r in ranges.items() if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement))]
    index = positions.StatementIndex(statements)
    for node, rng in list(ranges.items())[::7]:
        assert index.innermost(rng) == _plain_innermost(statements, rng), (path, type(node).__name__, rng)


def _fix_cases():
    for rule in all_rules().values():
        for i, example in enumerate(rule.invalid):
            if isinstance(example, Invalid) and example.fixed is not None:
                yield pytest.param(rule, example, id=f"{rule.code}-{i}")


def _apply(text, edits):
    lines = text.splitlines(keepends=True)
    for edit in sorted(edits, key=lambda e: e.start.row, reverse=True):
        lines[edit.start.row - 1:edit.end.row - 1] = [edit.content] if edit.content else []
    return "".join(lines)


@pytest.mark.parametrize("rule,example", list(_fix_cases()))
def test_local_fix_edits_match_the_whole_file_diff(rule, example):
    files = dict(example.files)
    files[example.path] = example.code
    with tempfile.TemporaryDirectory() as root:
        paths = []
        for rel, code in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(dedent(code))
            paths.append(path)
        mapped = {p: s for p, s, _ in (summarise_path(p, roots=(root,)) for p in paths if p.endswith(".py"))}
        project = ProjectFacts.build([s for s in mapped.values() if s is not None])
        target = os.path.join(root, example.path)
        with open(target, "rb") as handle:
            source = handle.read()
        if rule.code == "LL005":  # reported by the engine after the others, not by visiting
            linted = Linted(target, source, mapped[target], project, [], checked=frozenset())
        else:
            linted = Linted(target, source, mapped[target], project, [rule])
    maker = EditMaker(linted.module, linted.positions)
    fixed = [r.fix for r in linted.reports if r.fix is not None]
    assert fixed
    for fix in fixed:
        whole = fixes_mod.apply(linted.module, [fix]).code
        assert _apply(linted.module.code, maker.edits(fix)) == whole


def test_fix_choice_skips_overlaps_like_the_pairwise_check():
    module = cst.parse_module("a = f(x)\nb = g(y)\n")
    ranges = positions.full(module)
    first, second = module.body
    call = first.body[0].value
    outer = fixes_mod.Fix("outer", fixes_mod_applicability(), {first: first})
    inner = fixes_mod.Fix("inner", fixes_mod_applicability(), {call: call})
    other = fixes_mod.Fix("other", fixes_mod_applicability(), {second: second})
    assert fixes_mod.choose([inner, outer, other], ranges) == [outer, other]
    assert fixes_mod.choose([inner, other], ranges) == [inner, other]


def fixes_mod_applicability():
    from leaklint.diagnostics import Applicability

    return Applicability.SAFE
