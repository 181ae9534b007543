"""Positions (libcst's ``PositionProvider`` ranges) of the nodes a file's findings need, only.

``PositionProvider`` generates the code of the whole module with position tracking, which costs
about as much as parsing it. The findings of a file need the ranges of a few nodes (the reported
node, its statements, the nodes a fix replaces) and of the statements around them, all inside a
few top-level statements. The ranges inside top-level statement ``k`` depend only on the line and
column where its code starts, so this generates the code of the statements before it without
tracking (about 4x cheaper) and tracks positions only through the statements that hold a wanted
node. The ranges are the very ones ``PositionProvider`` computes (same provider state, same
order); whenever that argument does not plainly hold (a wanted node outside the statements, or
with an empty range) the whole module is done the usual way.
"""

from __future__ import annotations

import bisect
from typing import Dict, Iterable, List, Mapping, Optional

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst.metadata import CodeRange, PositionProvider
from libcst.metadata.position_provider import PositionProvidingCodegenState

from leaklint import traversal


def full(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """``MetadataWrapper(module).resolve(PositionProvider)``, the same mapping, without the pass
    ``resolve`` runs after it (libcst batches the - here zero - batchable providers of each round
    into a full ``visit_batched`` of the module, ~40% on top of the code generation)."""
    provider = PositionProvider()
    provider._computed = {}
    provider._gen_impl(module)
    return provider._computed


def of(module: cst.Module, wanted: Iterable[cst.CSTNode]) -> Mapping[cst.CSTNode, CodeRange]:
    """Ranges of every node of the top-level statements that contain a ``wanted`` node (and so of
    every statement around a wanted node); the whole module's when that cannot be told apart."""
    wanted_ids = {id(node): node for node in wanted}
    indexes = _statements_holding(module, wanted_ids)
    if indexes is None:
        return full(module)
    computed = _generate(module, indexes)
    for key in wanted_ids.values():
        rng = computed.get(key)
        if rng is None or rng.start == rng.end:
            return full(module)
    return computed


def _statements_holding(module: cst.Module, wanted_ids: Dict[int, cst.CSTNode]) -> Optional[List[int]]:
    """Indexes of the top-level statements holding the wanted nodes; None if one is elsewhere."""
    left = dict(wanted_ids)
    indexes: List[int] = []
    for index, statement in enumerate(module.body):
        if not left:
            break
        found = False
        todo: List[cst.CSTNode] = [statement]
        while todo:
            node = todo.pop()
            if left.pop(id(node), None) is not None:
                found = True
                if not left:
                    break
            todo.extend(traversal.children(node))
        if found:
            indexes.append(index)
    return None if left else indexes


def _generate(module: cst.Module, indexes: List[int]) -> Dict[cst.CSTNode, CodeRange]:
    provider = PositionProvider()
    provider._computed = {}
    tracked = PositionProvidingCodegenState(
        default_indent=module.default_indent, default_newline=module.default_newline, provider=provider)
    plain = CodegenState(default_indent=module.default_indent, default_newline=module.default_newline)
    for header in module.header:
        header._codegen(plain)
    wanted = set(indexes)
    last = indexes[-1] if indexes else -1
    for index, statement in enumerate(module.body):
        if index > last:
            break
        if index not in wanted:
            statement._codegen(plain)
            continue
        for token in plain.tokens:  # where the tracked code starts: as if it had generated these
            if "\n" in token or "\r" in token:
                tracked._update_position(token)
            else:
                tracked.column += len(token)
        plain.tokens.clear()
        statement._codegen(tracked)
    return provider._computed


class StatementIndex:
    """The innermost statement around a range, in time logarithmic in the number of statements.

    Statements nest (each lies inside its parent or after it), so sorted by start (outer first
    on a tie) the innermost statement containing a range is the last one starting at or before
    the range, or the first of that statement's ancestors that contains the range's end. A
    linear scan per finding made a module with thousands of findings quadratic.
    """

    def __init__(self, ranges: Iterable[CodeRange]) -> None:
        spans = sorted({((r.start.line, r.start.column), (r.end.line, r.end.column)) for r in ranges},
                       key=lambda span: (span[0], (-span[1][0], -span[1][1])))
        self.starts = [start for start, _ in spans]
        self.ends = [end for _, end in spans]
        self.parents: List[int] = []
        stack: List[int] = []
        for i, (start, end) in enumerate(spans):
            while stack and not (self.starts[stack[-1]] <= start and end <= self.ends[stack[-1]]):
                stack.pop()
            self.parents.append(stack[-1] if stack else -1)
            stack.append(i)

    def innermost(self, target: CodeRange) -> Optional[int]:
        """First line of the innermost statement containing ``target``, or None."""
        start, end = (target.start.line, target.start.column), (target.end.line, target.end.column)
        i = bisect.bisect_right(self.starts, start) - 1
        while i >= 0:
            if self.starts[i] <= start and end <= self.ends[i]:
                return self.starts[i][0]
            i = self.parents[i]
        return None
