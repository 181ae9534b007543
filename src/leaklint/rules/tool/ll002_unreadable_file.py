"""LL002 unreadable-file: a file that cannot be read or decoded."""

from leaklint.rule import Rule


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
