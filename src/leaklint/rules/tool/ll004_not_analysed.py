"""LL004 not-analysed: a valid file leaklint could not summarise, so it is not reported as clean."""

from leaklint.rule import Rule


class NotAnalysedRule(Rule):
    """## What it does
    Reports a file that is valid Python (libcst parses it) but that leaklint could not summarise
    under the Python running it: syntax newer than this interpreter that leaklint does not know how
    to read with it. The file's definitions are missing from the project facts, and rules that
    need them may miss findings in it and in the modules that import from it.

    ## Why is this bad?
    A file leaklint could not analyse must never look clean: "All checks passed!" beside a leaking
    `get_db` would be a lie. The run goes on with the other files.

    ## Example
    A construct of a Python release newer than the one running leaklint, which leaklint's rewriting
    into older syntax does not cover.

    Use instead: run leaklint with the Python the project targets (`pipx run --python 3.13
    leaklint`), or report the construct so that leaklint learns to read it.
    """

    code = "LL004"
    name = "not-analysed"
    message = "{detail}"
    family = "tool"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return False
