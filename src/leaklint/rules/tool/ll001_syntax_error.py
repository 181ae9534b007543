"""LL001 syntax-error: a file that does not parse."""

from leaklint.rule import Rule


class SyntaxErrorRule(Rule):
    """## What it does
    Reports a file that does not parse.

    ## Why is this bad?
    leaklint cannot check a file it cannot parse, so leaks in it would go unreported. The run goes on
    with the other files; the exit code is 1 because a finding remains.

    ## Example
    ```python
    def get_db(:
        ...
    ```

    Use instead: fix the syntax error (the message gives its line and column).
    """

    code = "LL001"
    name = "syntax-error"
    message = "SyntaxError: {detail}"
    family = "tool"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return False
