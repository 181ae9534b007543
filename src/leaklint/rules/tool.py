"""LL0xx: what leaklint reports about the input itself. They never run as visitors."""

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


class UnreadableFileRule(Rule):
    """## What it does
    Reports a file that cannot be read (permissions, I/O error) or decoded (bytes that are not valid
    in the file's declared or default UTF-8 encoding).

    ## Why is this bad?
    leaklint cannot check what it cannot read. The run goes on with the other files.

    ## Example
    A file saved as Latin-1 without a `# -*- coding: latin-1 -*-` declaration.

    Use instead: make the file readable, or declare its encoding (PEP 263).
    """

    code = "LL002"
    name = "unreadable-file"
    message = "{detail}"
    family = "tool"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return False


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
