"""LL003 fix-failed: `--fix` left a file unchanged: the fixed code did not parse or the fixes did not settle."""

from leaklint.rule import Rule


class FixFailedRule(Rule):
    """## What it does
    Reports that `--fix` left a file unchanged because applying the fixes produced code that does not
    parse, or because repeated fix passes did not settle.

    ## Why is this bad?
    It is a bug in leaklint, not in your code: the file is kept exactly as it was (a fix never
    corrupts a file). Please report it with the file.

    ## Example
    Not applicable.

    Use instead: apply the remaining fixes by hand, following each finding's message.
    """

    code = "LL003"
    name = "fix-failed"
    message = "{detail}"
    family = "tool"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return False
