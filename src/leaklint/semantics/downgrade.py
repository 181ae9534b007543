"""Source that the running interpreter's ``ast`` reads, from code written for a newer Python.

libcst parses every syntax up to 3.14 whatever Python runs leaklint; the stdlib ``ast`` of the
map phase only knows its own version. A module of PEP 695 ``type`` aliases and generics, PEP 701
f-strings, PEP 750 t-strings or PEP 758 ``except A, B:`` (or a ``match`` under Python 3.9) would
otherwise drop out of the project facts and look clean. These constructs are rewritten into older
spellings that bind the same names, make the same calls and keep every statement on its line, so
the summary of the module is the summary of its code.
"""

from __future__ import annotations

import ast
from typing import Optional, Union

import libcst as cst

_RENDER = cst.Module(body=[])


def _code(node: cst.CSTNode) -> str:
    return _RENDER.code_for_node(node)


def _strings_as_tuple(original: cst.CSTNode, expressions) -> cst.BaseExpression:
    """``(e1, e2, ...)`` with the newlines ``original`` spans, so later lines keep their numbers."""
    inner = ", ".join(_code(e) for e in expressions)
    if len(expressions) == 1:
        inner += ","
    text = "(" + inner
    text += "\n" * max(0, _code(original).count("\n") - text.count("\n")) + ")"
    return cst.parse_expression(text)


def _string_expressions(node: cst.CSTNode) -> list:
    """The expressions interpolated in a string (f-string, t-string or a concatenation of them)."""
    if isinstance(node, (cst.FormattedString, cst.TemplatedString)):
        found = []
        stack = list(node.parts)
        while stack:
            part = stack.pop(0)
            if isinstance(part, (cst.FormattedStringExpression, cst.TemplatedStringExpression)):
                found.append(part.expression)
                stack[:0] = list(part.format_spec or ())
        return found
    if isinstance(node, cst.ConcatenatedString):
        return _string_expressions(node.left) + _string_expressions(node.right)
    return []


def _interpolates(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.ConcatenatedString):
        return _interpolates(node.left) or _interpolates(node.right)
    return isinstance(node, (cst.FormattedString, cst.TemplatedString))


class _Downgrader(cst.CSTTransformer):
    def leave_TypeAlias(self, original_node: cst.TypeAlias, updated_node: cst.TypeAlias) -> cst.Assign:
        return cst.Assign(targets=[cst.AssignTarget(updated_node.name)], value=updated_node.value)

    def leave_FunctionDef(self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef) -> cst.FunctionDef:
        return updated_node.with_changes(type_parameters=None, whitespace_after_type_parameters=cst.SimpleWhitespace(""))

    def leave_ClassDef(self, original_node: cst.ClassDef, updated_node: cst.ClassDef) -> cst.ClassDef:
        return updated_node.with_changes(type_parameters=None, whitespace_after_type_parameters=cst.SimpleWhitespace(""))

    # strings are rewritten whole, from the outermost one: libcst will not hold a tuple inside a
    # concatenation, so their children are not visited, and their expressions are downgraded here
    def visit_FormattedString(self, node) -> bool:
        return False

    def visit_TemplatedString(self, node) -> bool:
        return False

    def visit_ConcatenatedString(self, node) -> bool:
        return False

    def _as_tuple(self, original_node) -> cst.BaseExpression:
        return _strings_as_tuple(original_node, [e.visit(self) for e in _string_expressions(original_node)])

    def leave_FormattedString(self, original_node, updated_node) -> cst.BaseExpression:
        return self._as_tuple(original_node)

    def leave_TemplatedString(self, original_node, updated_node) -> cst.BaseExpression:
        return self._as_tuple(original_node)

    def leave_ConcatenatedString(self, original_node, updated_node) -> cst.BaseExpression:
        return self._as_tuple(original_node) if _interpolates(original_node) else updated_node

    def _parenthesised_types(self, updated_node):
        kind = updated_node.type
        if isinstance(kind, cst.Tuple) and not kind.lpar:
            return updated_node.with_changes(type=kind.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()]))
        return updated_node

    def leave_ExceptHandler(self, original_node, updated_node) -> cst.ExceptHandler:
        return self._parenthesised_types(updated_node)

    def leave_ExceptStarHandler(self, original_node, updated_node) -> cst.ExceptStarHandler:
        return self._parenthesised_types(updated_node)

    def leave_TryStar(self, original_node: cst.TryStar, updated_node: cst.TryStar) -> cst.Try:
        """``except*`` (3.11) for an older ``ast``: the same handlers as plain ``except``."""
        handlers = [cst.ExceptHandler(body=h.body, type=h.type, name=h.name, leading_lines=h.leading_lines)
                    for h in updated_node.handlers]
        return cst.Try(body=updated_node.body, handlers=handlers, orelse=updated_node.orelse,
                       finalbody=updated_node.finalbody, leading_lines=updated_node.leading_lines)

    def leave_Match(self, original_node: cst.Match, updated_node: cst.Match) -> Union[cst.If, cst.Match]:
        """``match`` (3.10) for an older ``ast``: the subject and guards stay, the cases become ``if``."""
        subject = updated_node.subject
        if isinstance(subject, cst.Tuple) and not subject.lpar:
            subject = subject.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        cases = [cst.If(test=case.guard or cst.Name("True"), body=case.body, leading_lines=case.leading_lines)
                 for case in updated_node.cases]
        return cst.If(test=subject, body=cst.IndentedBlock(body=cases), leading_lines=updated_node.leading_lines)


def downgrade(source: bytes) -> Optional[bytes]:
    """The rewritten source when libcst parses ``source`` and the result is valid for ``ast``."""
    try:
        module = cst.parse_module(source)
        rewritten = module.visit(_Downgrader()).bytes
        ast.parse(rewritten)
    except Exception:  # libcst rejects it too, or a construct this module does not rewrite
        return None
    return rewritten


def parses(source: bytes) -> bool:
    """Is ``source`` valid Python of any version libcst knows (used to vet fixed files)?"""
    try:
        ast.parse(source)
        return True
    except SyntaxError:
        return downgrade(source) is not None
    except ValueError:
        return False
