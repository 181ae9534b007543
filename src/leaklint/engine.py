"""Per-file engine: read -> (cheap look) -> parse once -> one traversal -> findings -> fix loop.

Everything that leaves this module is plain data (``Diagnostic``, bytes, strings), so it can run
in worker processes. libcst is only invoked for files where some enabled rule can fire.
"""

from __future__ import annotations

import contextlib
import sys
import tokenize
import io
from dataclasses import dataclass, field, replace
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple, Type

import libcst as cst
from libcst.metadata import MetadataWrapper

from leaklint import fixes as fixes_mod, noqa_hygiene, positions as positions_mod, traversal
from leaklint.diagnostics import Applicability, Diagnostic, FixView, Location
from leaklint.rule import Fix, Report, Rule
from leaklint.semantics.context import FileContext
from leaklint.semantics.downgrade import parses
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary, summarise
from leaklint.fix_edits import EditMaker
from leaklint.positions import StatementIndex
from leaklint.suppression import build_index


@dataclass(frozen=True)
class FixOptions:
    fix: bool = False
    unsafe: bool = False
    want_edits: bool = False  # json/sarif show each fix's edits
    want_diff: bool = False

    def allows(self, fix: Fix) -> bool:
        if fix.applicability is Applicability.SAFE:
            return True
        return self.unsafe and fix.applicability is Applicability.UNSAFE


@dataclass
class FileResult:
    path: str
    diagnostics: List[Diagnostic] = field(default_factory=list)
    fixed: Optional[bytes] = None  # new bytes when fixes changed the file
    fixes_applied: int = 0
    diff: str = ""
    parsed: bool = False  # whether libcst parsed it (for benchmarks and tests of the cheap look)
    error: Optional[str] = None  # one line: leaklint itself failed on this file (a bug); the run goes on
    content_hash: Optional[str] = None  # of the bytes checked (the result cache stores only matching results)


# -- reading ---------------------------------------------------------------------------------

class SourceError(Exception):
    """A file that cannot be read or decoded; becomes a one-line LL002 finding."""


def read_source(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise SourceError(f"cannot read file: {exc.strerror or exc}") from None
    check_decodable(data)
    return data


def check_decodable(data: bytes) -> None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
    except (SyntaxError, LookupError) as exc:
        raise SourceError(f"cannot decode file: {getattr(exc, 'msg', None) or exc}") from None
    except UnicodeDecodeError as exc:
        raise SourceError(f"cannot decode file as {exc.encoding}: invalid byte at offset {exc.start}") from None


def decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def tool_diagnostic(code: str, path: str, message: str, row: int = 1, column: int = 1) -> Diagnostic:
    from leaklint.registry import rule_by_code

    name = rule_by_code(code).name
    return Diagnostic(code, name, message, path, Location(row, column), Location(row, column), row)


# -- one traversal ---------------------------------------------------------------------------

class Dispatcher:
    """Runs every rule's ``visit_<Node>``/``leave_<Node>`` in one walk and keeps the ancestor stack.

    The same events, in the same order, as libcst's batched ``CSTVisitor`` traversal plus the
    stack (which saves rules the ParentNodeProvider pass they would otherwise each need), from
    ``traversal.walk``, which reads the tree instead of rebuilding it, and skips whitespace,
    operator and bracket nodes when no rule has a method for them. Return values of ``visit_``
    methods are ignored: children are always visited.
    """

    def __init__(self, ctx: FileContext, rules: Sequence[Rule]) -> None:
        self.ctx = ctx
        self.visit: Dict[str, list] = {}
        self.leave: Dict[str, list] = {}
        for rule in rules:
            for name in _visitor_names(type(rule), rule):
                kind, _, node_type = name.partition("_")
                if "_" in node_type:
                    raise TypeError(f"{type(rule).__name__}.{name}: attribute visitors are not supported")
                (self.visit if kind == "visit" else self.leave).setdefault(node_type, []).append(
                    getattr(rule, name))

    def hooks(self, cls: type) -> Tuple[list, list]:
        name = cls.__name__
        return self.visit.get(name, []), self.leave.get(name, [])

    def run(self, module: cst.Module) -> None:
        hooked = set(self.visit) | set(self.leave)
        trivia_hooked = any(cls.__name__ in hooked for cls in traversal.TRIVIA)
        traversal.walk(module, self.hooks, self.ctx.stack, frozenset() if trivia_hooked else traversal.TRIVIA)


_VISITOR_NAMES: Dict[type, Tuple[str, ...]] = {}


def _visitor_names(cls: type, rule: Rule) -> Tuple[str, ...]:
    """``rule.get_visitors()``'s names (sorted, no-op stubs left out), worked out once per class:
    ``inspect.getmembers`` costs milliseconds per rule instance."""
    names = _VISITOR_NAMES.get(cls)
    if names is None:
        names = _VISITOR_NAMES[cls] = tuple(rule.get_visitors())
    return names


def _run_rules(path: str, source: bytes, module: cst.Module, summary: ModuleSummary, project: ProjectFacts,
               rule_classes: Sequence[Type[Rule]]) -> Tuple[MetadataWrapper, List[Report]]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    ctx = FileContext(path, source, wrapper.module, summary, project)
    rules = [cls(ctx) for cls in rule_classes]
    with contextlib.ExitStack() as stack:
        for rule in rules:
            if rule.get_inherited_dependencies():
                stack.enter_context(rule.resolve(wrapper))
        Dispatcher(ctx, rules).run(wrapper.module)
    reports = [r for rule in rules for r in rule.reports]
    for rule in rules:  # a report points at its rule: break the cycle, so the tree is freed with the last reference
        rule.reports = []
    return wrapper, reports


def _wanted(reports: Sequence[Report]) -> List[cst.CSTNode]:
    """The nodes whose positions the findings (and fixes) of a file read."""
    nodes: List[cst.CSTNode] = []
    for report in reports:
        nodes.append(report.node)
        if report.statement is not None:
            nodes.append(report.statement)
        if report.fix is not None:
            nodes.extend(report.fix.replacements)
    return nodes


def _location(rng) -> Tuple[Location, Location]:
    return Location(rng.start.line, rng.start.column + 1), Location(rng.end.line, rng.end.column + 1)


class Linted:
    """One lint pass over one version of a file (kept only inside the engine)."""

    def __init__(self, path: str, source: bytes, summary: ModuleSummary, project: ProjectFacts,
                 rule_classes: Sequence[Type[Rule]], checked: Optional[FrozenSet[str]] = None) -> None:
        """``checked``: the codes whose unused ``# noqa`` directives are reported (LL005), None
        when LL005 is off."""
        self.path = path
        self.source = source
        self.summary = summary
        self.project = project
        self.rule_classes = rule_classes
        self.checked = checked
        self.module = cst.parse_module(source)
        self.wrapper, reports = _run_rules(path, source, self.module, summary, project, rule_classes)
        self.module = self.wrapper.module
        noqa = build_index(source) if checked is not None else None
        hygiene = checked is not None and noqa_hygiene.needs_look(noqa, checked)
        if hygiene:
            self.positions = positions_mod.full(self.module)  # rare: the comments need positions too
        else:
            self.positions = positions_mod.of(self.module, _wanted(reports)) if reports else {}
        self._statements: Optional[StatementIndex] = None
        self._edits: Optional[EditMaker] = None
        self.reports: List[Report] = []
        rows_of = [self._noqa_rows(report) for report in reports]
        if noqa is None and reports and _may_hold_noqa(source, rows_of):
            noqa = build_index(source)  # tokenizing is a tenth of checking a file: only where it can matter
        for report, rows in zip(reports, rows_of):
            if noqa is not None and noqa.suppressed(report.rule.code, *rows):
                continue
            self.reports.append(report)
        if hygiene:
            from leaklint.registry import rule_by_code

            rule = rule_by_code("LL005")(None)  # type: ignore[arg-type]  # reports only, never visits
            self.reports.extend(noqa_hygiene.reports(self.module, self.positions, noqa, checked, rule))

    def _noqa_rows(self, report: Report) -> Tuple[int, ...]:
        rows = [self.positions[report.node].start.line]
        statement = self._statement_start(report)
        if statement is not None:
            rows.append(statement)
        return tuple(rows)

    def _statement_start(self, report: Report) -> Optional[int]:
        """First line of the innermost statement around the reported node (a multi-line statement's
        ``# noqa`` sits there).

        Computed from positions rather than taken from ``report.statement``: a rule that reports
        from ``visit_FunctionDef`` on a node deeper in the body gets the *function* as its
        "enclosing statement" (the node is not on the traversal stack yet), and a ``# noqa`` on
        the ``def`` line would then silence every finding in the function.
        """
        target = self.positions[report.node]
        if self._statements is None:
            self._statements = StatementIndex(
                rng for node, rng in self.positions.items()
                if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)))
        best = self._statements.innermost(target)
        if best is None:
            if report.statement is not None and report.statement in self.positions:
                return self.positions[report.statement].start.line
            return None
        return best

    def diagnostic(self, report: Report, options: FixOptions) -> Diagnostic:
        start, end = _location(self.positions[report.node])
        view = None
        if report.fix is not None:
            edits: tuple = ()
            if options.want_edits:
                if self._edits is None:
                    self._edits = EditMaker(self.module, self.positions)
                edits = self._edits.edits(report.fix)
            view = FixView(report.fix.title, report.fix.applicability, edits)
        rows = self._noqa_rows(report)
        return Diagnostic(report.rule.code, report.rule.name, report.message, self.path, start, end,
                          rows[0], view, rows[1:])


def _may_hold_noqa(source: bytes, rows_of: Sequence[Tuple[int, ...]]) -> bool:
    """Can a ``# noqa`` silence one of these findings: the word is on one of their lines, or the
    file has a ``# leaklint: noqa``? (The index, which tells comments from strings, decides.)"""
    lower = source.lower()
    if b"noqa" not in lower:
        return False
    if b"leaklint" in lower:
        return True
    lines = lower.splitlines()
    return any(0 < row <= len(lines) and b"noqa" in lines[row - 1] for rows in rows_of for row in rows)


def applicable_rules(summary: ModuleSummary, project: ProjectFacts,
                     rule_classes: Sequence[Type[Rule]]) -> List[Type[Rule]]:
    return [cls for cls in rule_classes if cls.can_fire(summary, project)]


def lint_source(path: str, source: bytes, summary: ModuleSummary, project: ProjectFacts,
                rule_classes: Sequence[Type[Rule]], options: FixOptions = FixOptions(),
                unused_noqa: bool = False) -> FileResult:
    """Lint (and with ``options.fix`` fix) one file's bytes. Never raises for bad user input."""
    result = FileResult(path)
    if summary.syntax_error is not None:
        # ast may reject syntax newer than this interpreter: let libcst have the last word
        msg, row, col = summary.syntax_error
        try:
            cst.parse_module(source)
        except Exception:
            result.diagnostics.append(tool_diagnostic("LL001", path, f"SyntaxError: {msg}", row, col))
            return result
        # valid code this interpreter's ast cannot read, and that leaklint could not rewrite for it:
        # say so rather than let the file look clean
        result.diagnostics.append(tool_diagnostic(
            "LL004", path, f"not analysed: this Python ({sys.version.split()[0]}) cannot summarise its syntax "
            f"({msg}); run leaklint with a newer Python", row, col))
    rules = applicable_rules(summary, project, rule_classes)
    checked = frozenset(cls.code for cls in rule_classes) if unused_noqa else None
    if not rules and (checked is None or not noqa_hygiene.needs_look(build_index(source), checked)):
        return result
    try:
        linted = Linted(path, source, summary, project, rules, checked)
    except cst.ParserSyntaxError as exc:
        result.diagnostics.append(tool_diagnostic(
            "LL001", path, f"SyntaxError: {exc.message}", exc.raw_line, exc.raw_column + 1))
        return result
    result.parsed = True
    if options.fix:
        return _fix_loop(linted, options, result)
    result.diagnostics = [linted.diagnostic(r, options) for r in linted.reports]
    if options.want_diff:
        result.diff = _diff_of_fixes(linted, options)
    return result


def _diff_of_fixes(linted: Linted, options: FixOptions) -> str:
    """``--diff`` shows what ``--fix`` would write, computed with the real fix loop."""
    fixed = _fix_loop(linted, FixOptions(True, options.unsafe), FileResult(linted.path), dry_run=True)
    return fixed.diff


def _fix_loop(linted: Linted, options: FixOptions, result: FileResult, dry_run: bool = False) -> FileResult:
    summary, project, rules = linted.summary, linted.project, linted.rule_classes
    original = linted.source
    current = linted
    applied = 0
    failure: Optional[str] = None
    for _ in range(fixes_mod.MAX_PASSES):
        fixes = [r.fix for r in current.reports if r.fix is not None and options.allows(r.fix)]
        chosen = fixes_mod.choose(fixes, current.positions)
        if not chosen:
            break
        try:
            new_module = fixes_mod.apply(current.module, chosen)
            new_source = new_module.bytes
            if not parses(new_source):
                raise SyntaxError("the fixed file does not parse")
        except Exception as exc:  # a fix must never corrupt a file: keep the original
            failure = f"a fix produced invalid code and was not applied ({type(exc).__name__})"
            current = linted
            applied = 0
            break
        if new_source == current.source:
            break
        applied += len(chosen)
        new_summary = summarise(new_source, linted.path, summary.module, summary.package)
        current = Linted(linted.path, new_source, new_summary, project, rules, linted.checked)
    else:
        failure = f"fixes did not converge after {fixes_mod.MAX_PASSES} passes; file left unchanged"
        current = linted
        applied = 0
    result.parsed = True
    result.fixes_applied = applied
    if current.source != original:
        if dry_run:
            result.diff = fixes_mod.unified_diff(decode(original), decode(current.source), linted.path)
        else:
            result.fixed = current.source
    result.diagnostics = [current.diagnostic(r, options) for r in current.reports]
    if failure:
        # --fix just gave up on this file: marking its findings [*] / "fixable with --fix" would mislead
        result.diagnostics = [replace(d, fix=None) for d in result.diagnostics]
        result.diagnostics.append(tool_diagnostic("LL003", linted.path, failure))
    return result
