"""LL005 unused-noqa: a `# noqa: LLxxx` directive that silences nothing (ruff's RUF100)."""

from leaklint.rule import FixAvailability, Invalid, Rule


class UnusedNoqaRule(Rule):
    """## What it does
    Reports a `# noqa: LLxxx` directive that silences no finding: the rule it names ran on the
    file and reported nothing on that line (or on the first line of the statement there), or the
    code names no leaklint rule at all. It runs only when selected (`--extend-select LL005`), as
    ruff's RUF100 does.

    ## Why is this bad?
    A stale directive hides the next real finding on that line: after the leak it once silenced
    was fixed, a new one written on the same line would go unreported. Only leaklint's own codes
    of enabled rules are judged: `# noqa: F401` (another tool's) and a bare `# noqa` (which
    flake8 and ruff read too) are never reported.

    ## Example
    ```python
    with SessionLocal() as db:  # noqa: LL103
        ...
    ```

    Use instead:
    ```python
    with SessionLocal() as db:
        ...
    ```

    ## Fix safety
    The fix is safe: it removes the unused codes from the directive, and the comment when nothing
    else is left in it. A comment changes no behaviour.

    ## Known problems
    A directive for a rule that is not enabled (by `--select`, `--ignore` or per-file ignores) is
    not judged: the rule did not run, so leaklint cannot tell whether it would have been used.
    """

    code = "LL005"
    name = "unused-noqa"
    message = "Unused `noqa` directive ({codes})"
    fix_title = "Remove unused `noqa` directive"
    fix_availability = FixAvailability.ALWAYS
    family = "tool"

    valid = [
        "import os  # noqa: F401\n",  # another tool's code
        "import os  # noqa\n",  # a bare directive: flake8 and ruff read it too
    ]
    invalid = [
        Invalid("x = compute()  # noqa: LL999\n", line=1, column=16, message="unknown: `LL999`",
                fixed="x = compute()\n"),
        Invalid("import os  # noqa: F401, LL998\n", line=1, column=12, fixed="import os  # noqa: F401\n"),
        Invalid("x = 1  # type: ignore  # noqa: LL997\n", line=1, fixed="x = 1  # type: ignore\n"),
    ]

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return False  # the engine reports it after the other rules, from what they reported
