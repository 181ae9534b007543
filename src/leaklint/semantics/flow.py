"""Control-flow and binding questions about one function, answered from a single walk of it.

"Is this yield inside a try whose finally closes the session?", "is this token read again?",
"is this variable returned, stored, or handed to someone else?". A ``FunctionIndex`` is built the
first time a rule asks about a function and shared with every other rule through ``ctx.cache``.
"""

from __future__ import annotations

import re
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Type, TypeVar

import libcst as cst

from leaklint.traversal import children

T = TypeVar("T", bound=cst.CSTNode)
SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)


class FunctionIndex:
    """Parent links, nodes by type and name loads/stores inside one function (not nested ones)."""

    def __init__(self, fn: cst.FunctionDef) -> None:
        self.fn = fn
        self.parent: Dict[cst.CSTNode, cst.CSTNode] = {}
        self.by_type: Dict[type, List[cst.CSTNode]] = {}
        stack: List[cst.CSTNode] = [fn.body]
        self.parent[fn.body] = fn
        while stack:
            node = stack.pop()
            self.by_type.setdefault(type(node), []).append(node)
            if isinstance(node, SCOPES):
                continue  # nested scopes are their own functions
            for child in children(node):
                self.parent[child] = node
                stack.append(child)
        for nodes in self.by_type.values():
            nodes.reverse()  # stack order -> roughly source order

    def all(self, kind: Type[T]) -> List[T]:
        return self.by_type.get(kind, [])  # type: ignore[return-value]

    def ancestors(self, node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        while node in self.parent and node is not self.fn:
            node = self.parent[node]
            yield node

    def statement_of(self, node: cst.CSTNode) -> Optional[cst.BaseStatement]:
        for n in [node, *self.ancestors(node)]:
            if isinstance(n, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                return n  # type: ignore[return-value]
        return None

    # -- names ----------------------------------------------------------------------------
    def names(self, name: str) -> List[cst.Name]:
        return [n for n in self.all(cst.Name) if n.value == name]

    def is_store(self, node: cst.Name) -> bool:
        parent = self.parent.get(node)
        if isinstance(parent, cst.AssignTarget) and parent.target is node:
            return True
        if isinstance(parent, (cst.AnnAssign, cst.AugAssign)) and parent.target is node:
            return True
        if isinstance(parent, cst.AsName) and parent.name is node:
            return True
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is node:
            return True
        if isinstance(parent, cst.NamedExpr) and parent.target is node:
            return True
        if isinstance(parent, (cst.Tuple, cst.List, cst.Element)):
            return any(self.is_store_container(a) for a in [parent])
        return False

    def is_store_container(self, node: cst.CSTNode) -> bool:
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.AssignTarget):
                return True
            if not isinstance(ancestor, (cst.Tuple, cst.List, cst.Element, cst.StarredElement)):
                return False
        return False

    def loads(self, name: str) -> List[cst.Name]:
        """Reads of ``name`` (attribute names like ``x.name`` are not reads of ``name``)."""
        out = []
        for node in self.names(name):
            parent = self.parent.get(node)
            if isinstance(parent, cst.Attribute) and parent.attr is node:
                continue
            if isinstance(parent, cst.Arg) and parent.keyword is node:
                continue
            if isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.Param)):
                continue
            if self.is_store(node):
                continue
            out.append(node)
        return out

    def assignments(self, name: str) -> List[cst.CSTNode]:
        """Statements-level binders of ``name``: Assign/AnnAssign/AugAssign/For/With/NamedExpr."""
        return [self.parent[n] for n in self.names(name) if self.is_store(n) and n in self.parent]

    def assigned_value(self, binder: cst.CSTNode) -> Optional[cst.BaseExpression]:
        """The value a binder from ``assignments`` gives (``x = v`` / ``x: T = v``); None for a
        loop, a ``with``, an augmented assignment..."""
        holder = self.parent.get(binder) if isinstance(binder, cst.AssignTarget) else binder
        if isinstance(holder, (cst.Assign, cst.AnnAssign)) and holder.value is not None:
            return holder.value
        return None

    # -- try / with ----------------------------------------------------------------------
    def guarding_trys(self, node: cst.CSTNode) -> List[cst.Try]:
        """``try`` statements with a ``finally`` whose body/except/else contains ``node``."""
        out = []
        child = node
        for ancestor in self.ancestors(node):
            if isinstance(ancestor, cst.Try) and ancestor.finalbody is not None and child is not ancestor.finalbody:
                out.append(ancestor)
            child = ancestor
        return out

    def in_finally(self, node: cst.CSTNode) -> bool:
        return any(isinstance(a, cst.Finally) for a in self.ancestors(node))

    def in_except(self, node: cst.CSTNode) -> bool:
        return any(isinstance(a, cst.ExceptHandler) for a in self.ancestors(node))

    def enclosing_withs(self, node: cst.CSTNode) -> List[cst.With]:
        return [a for a in self.ancestors(node) if isinstance(a, cst.With)]

    def contains(self, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
        return inner is outer or any(a is outer for a in self.ancestors(inner))


def index_of(ctx, fn: cst.FunctionDef) -> FunctionIndex:
    key = ("function-index", id(fn))
    index = ctx.cache.get(key)
    if index is None or index.fn is not fn:
        index = ctx.cache[key] = FunctionIndex(fn)
    return index


def method_call(node: cst.CSTNode, receiver: str, methods: Iterable[str]) -> bool:
    """``receiver.method(...)`` (optionally awaited) for a bare-name receiver."""
    if isinstance(node, cst.Await):
        node = node.expression
    return (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name) and node.func.value.value == receiver
        and node.func.attr.value in set(methods)
    )


def walk(node: cst.CSTNode, own_scope: bool = False) -> Iterator[cst.CSTNode]:
    """Pre-order nodes of a subtree, in source order; with ``own_scope``, nested functions, lambdas
    and classes are yielded but not entered (their bodies are another scope)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if own_scope and isinstance(n, SCOPES) and n is not node:
            continue
        stack.extend(reversed(children(n)))


def walk_with_parents(node: cst.CSTNode, parent: Optional[cst.CSTNode] = None
                      ) -> Iterator[Tuple[cst.CSTNode, Optional[cst.CSTNode]]]:
    """Pre-order ``(node, parent)`` pairs of a subtree, in source order."""
    stack = [(node, parent)]
    while stack:
        n, p = stack.pop()
        yield n, p
        stack.extend((c, n) for c in reversed(children(n)))


def parent_map(root: cst.CSTNode) -> Dict[cst.CSTNode, cst.CSTNode]:
    """Child -> parent for every node below ``root``."""
    return {n: p for n, p in walk_with_parents(root) if p is not None}


def calls_in(node: cst.CSTNode) -> Iterator[cst.Call]:
    """Calls in ``node``'s own scope."""
    return (n for n in walk(node, own_scope=True) if isinstance(n, cst.Call))


def block_calls(block: Optional[cst.CSTNode], receiver: str, methods: Iterable[str]) -> bool:
    """Does ``block`` contain ``receiver.method(...)``?"""
    if block is None:
        return False
    methods = set(methods)
    return any(method_call(c, receiver, methods) for c in calls_in(block))


def assigned_name(index: FunctionIndex, value: cst.CSTNode) -> Optional[str]:
    """``x = value`` / ``x: T = value`` / ``x = await value`` -> ``"x"``."""
    node = value
    parent = index.parent.get(node)
    if isinstance(parent, cst.Await):
        node, parent = parent, index.parent.get(parent)
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
        target = parent.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(parent, cst.AnnAssign) and parent.value is node and isinstance(parent.target, cst.Name):
        return parent.target.value
    return None


def top_level_index(fn: cst.FunctionDef, statement: cst.CSTNode) -> Optional[int]:
    """Position of ``statement`` among the function body's own statements, if it is one."""
    if not isinstance(fn.body, cst.IndentedBlock):
        return None
    for i, stmt in enumerate(fn.body.body):
        if stmt is statement:
            return i
    return None


def yields_before(node: cst.CSTNode, parent_of, fn: cst.FunctionDef) -> FrozenSet[int]:
    """The ``yield``s of the generator ``fn`` that run before ``node`` (by ``id``), when ``node`` is
    outside any ``finally``: if one of them is where a consumer stops early (a client that leaves a
    streaming response, an error in the loop that reads it), the generator closes there and
    ``node`` never runs. Empty inside a ``finally``, which runs on close too."""
    found: Set[int] = set()
    current = node
    while current is not fn and current is not None:
        parent = parent_of(current)
        if isinstance(current, cst.Finally):
            return frozenset()
        body = getattr(parent, "body", None) if isinstance(parent, (cst.IndentedBlock, cst.SimpleStatementSuite)) \
            else None
        if isinstance(body, (list, tuple)):
            before = body[:next((i for i, s in enumerate(body) if s is current), 0)]
            found.update(id(n) for s in before for n in walk(s, own_scope=True) if isinstance(n, cst.Yield))
        current = parent
    return frozenset(found)


def after_a_yield(node: cst.CSTNode, parent_of, fn: cst.FunctionDef) -> bool:
    """Does ``node`` run only when the generator ``fn`` resumes after a ``yield``, outside any ``finally``?"""
    return bool(yields_before(node, parent_of, fn))


def late_for(removal: cst.CSTNode, growths: Sequence[cst.CSTNode], parent_of, fn: cst.FunctionDef) -> bool:
    """A removal after a ``yield`` skips the entries that ``growths`` in the same generator make only
    if a ``yield`` comes between them (``yield header; X[k] = v; ...; X.pop(k)`` removes in time);
    an entry made elsewhere (``growths`` empty) is skipped by any earlier ``yield``."""
    after = yields_before(removal, parent_of, fn)
    return bool(after) and (not growths or any(after - yields_before(g, parent_of, fn) or
                                               _yields_again(g, removal, parent_of, fn) for g in growths))


def _yields_again(growth: cst.CSTNode, removal: cst.CSTNode, parent_of, fn: cst.FunctionDef) -> bool:
    """A loop holds the growth and a ``yield`` but not the removal: the loop comes back to that
    ``yield`` after the entry is made (``for t in ts: yield t; X[k] = t`` then ``X.pop(k)``)."""
    removal_chain = set()
    current = removal
    while current is not None and current is not fn:
        removal_chain.add(id(current))
        current = parent_of(current)
    current = growth
    while current is not None and current is not fn:
        if isinstance(current, (cst.For, cst.While)) and id(current) not in removal_chain and \
                any(isinstance(n, cst.Yield) for n in walk(current.body, own_scope=True)):
            return True
        current = parent_of(current)
    return False


def is_docstring(stmt: cst.CSTNode) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


#: a flag named for debugging: ``DEBUG``, ``settings.debug``, ``KEEP_DEBUG_TASKS``, ``g4f.debug.logging``
DEBUG_WORD = re.compile(r"(?:^|[_.])debug(?:$|[_.])", re.IGNORECASE)


def under_debug_switch(ctx, node: Optional[cst.CSTNode] = None) -> bool:
    """``node`` (default: the node being visited) runs only when a debug flag is on: inside the body of
    ``if DEBUG:`` / ``if settings.debug and x:``. Growth there is off in a default deployment."""
    child = node if node is not None else ctx.stack[-1]
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.FunctionDef):
            return False
        if isinstance(ancestor, cst.If) and child is ancestor.body and _debug_test(ctx, ancestor.test):
            return True
        child = ancestor
    return False


def _debug_test(ctx, test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.BooleanOperation):
        return isinstance(test.operator, cst.And) and (_debug_test(ctx, test.left) or _debug_test(ctx, test.right))
    if not isinstance(test, (cst.Name, cst.Attribute)):
        return False
    return any(DEBUG_WORD.search(name) for name in ctx.qualify(test) | {ctx.code(test)})
