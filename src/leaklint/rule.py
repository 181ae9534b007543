"""The rule base class and the example types that sit beside every rule.

A rule is a small libcst visitor (``visit_<Node>`` / ``leave_<Node>`` methods). All enabled rules
of a file run in one traversal; the engine also keeps the ancestor stack and the name resolver
in ``self.ctx`` so rules never re-derive scopes, routes, dependencies or session factories.
"""

from __future__ import annotations

import enum
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Dict, List, Mapping, Optional, Sequence, Union

import libcst as cst

from leaklint.diagnostics import Applicability

if TYPE_CHECKING:  # pragma: no cover
    from leaklint.semantics.context import FileContext
    from leaklint.semantics.project import ProjectFacts
    from leaklint.semantics.summary import ModuleSummary


class FixAvailability(str, enum.Enum):
    NONE = "none"
    SOMETIMES = "sometimes"
    ALWAYS = "always"


@dataclass(frozen=True)
class ImportSpec:
    """An import a fix needs; applied with libcst's ``AddImportsVisitor`` (never hand-written)."""

    module: str
    obj: Optional[str] = None
    asname: Optional[str] = None


@dataclass
class Fix:
    """One fix = one unit: node replacements, imports to add, module-level statements to insert."""

    title: str
    applicability: Applicability
    replacements: Dict[cst.CSTNode, Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]] = field(
        default_factory=dict
    )
    imports: Sequence[ImportSpec] = ()
    #: statements (source text) inserted once after the module's imports, skipped when already present
    module_statements: Sequence[str] = ()


@dataclass(frozen=True)
class Valid:
    code: str
    #: other modules of the example project, ``{"app/db.py": "..."}``; ``path`` names the linted file
    files: Mapping[str, str] = field(default_factory=dict)
    path: str = "example.py"


@dataclass(frozen=True)
class Invalid:
    code: str
    line: Optional[int] = None
    column: Optional[int] = None
    message: Optional[str] = None
    #: the expected file after ``--fix`` (``--unsafe-fixes`` when the fix is unsafe); None = no fix
    fixed: Optional[str] = None
    files: Mapping[str, str] = field(default_factory=dict)
    path: str = "example.py"
    count: int = 1


Example = Union[str, Valid, Invalid]


def dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


@dataclass
class Report:
    """A finding still attached to its node (lives only inside the engine)."""

    rule: "Rule"
    node: cst.CSTNode
    message: str
    fix: Optional[Fix]
    statement: Optional[cst.CSTNode]


class Rule(cst.BatchableCSTVisitor):
    """Base class. Subclasses set the class attributes and write visit methods.

    The docstring is the rule's documentation (ruff's sections: What it does / Why is this bad? /
    Example / Use instead / Fix safety / Options / Known problems / References).
    """

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    message: ClassVar[str] = ""
    fix_title: ClassVar[Optional[str]] = None
    fix_availability: ClassVar[FixAvailability] = FixAvailability.NONE
    family: ClassVar[str] = ""
    preview: ClassVar[bool] = False
    valid: ClassVar[Sequence[Example]] = ()
    invalid: ClassVar[Sequence[Invalid]] = ()
    overlaps: ClassVar[str] = ""  # which ruff/pylint rules cover part of this, for the docs

    def __init__(self, ctx: "FileContext") -> None:
        super().__init__()
        self.ctx = ctx
        self.reports: List[Report] = []

    @classmethod
    def can_fire(cls, summary: "ModuleSummary", project: "ProjectFacts") -> bool:
        """Cheap first look (no libcst): can this rule possibly report in this module?

        Must be *provably* safe: returning False means the file is not parsed for this rule.
        """
        return True

    def report(self, node: cst.CSTNode, message: Optional[str] = None, fix: Optional[Fix] = None,
               **data: object) -> None:
        text = message if message is not None else self.message.format(**data)
        self.reports.append(Report(self, node, text, fix, self.ctx.enclosing_statement(node)))
