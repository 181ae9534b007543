"""A read-only walk over a libcst tree in exactly libcst's visiting order, without rebuilding it.

``module.visit(CSTVisitor)`` rebuilds every node it passes (``_visit_and_replace_children`` ->
``__init__`` -> ``_validate``) and calls ``on_visit_attribute``/``on_leave_attribute`` for every
field, then throws the copies away: for a visitor that only reads, that is about two thirds of
the traversal. This walk reads the same fields in the same order and never builds a node.

The order of each node class's fields is read once from its ``_visit_and_replace_children`` (the
field names it passes to libcst's ``visit_*`` helpers, in evaluation order), so it follows
whatever libcst version is installed. A class whose method has another shape falls back to
``node.children`` (slow, but the same order by construction). ``tests/test_traversal.py``
compares the events with libcst's own ``CSTVisitor`` on real files.
"""

from __future__ import annotations

import ast
import inspect
import operator
import textwrap
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import libcst as cst

def _classes_of(*modules: object) -> List[type]:
    return [c for m in modules for c in vars(m).values()
            if isinstance(c, type) and issubclass(c, cst.CSTNode) and c.__module__ == m.__name__  # type: ignore[attr-defined]
            and not inspect.isabstract(c)]


def _trivia() -> frozenset:
    from libcst._nodes import op, whitespace

    brackets = (cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket,
                cst.LeftCurlyBrace, cst.RightCurlyBrace)
    return frozenset(_classes_of(whitespace, op)) | frozenset(brackets)


#: whitespace, comments, operators, commas, brackets: nodes whose descendants are all trivia too
#: (``tests/test_traversal.py`` checks that against libcst's field types)
TRIVIA: frozenset = _trivia()

_VISIT_HELPERS = frozenset({
    "visit_required", "visit_optional", "visit_sentinel", "visit_sequence", "visit_iterable",
    "visit_body_sequence", "visit_body_iterable",
})

_Getter = Callable[[cst.CSTNode], Sequence[object]]

#: per node class: None = a leaf (no visited fields), a getter of the visited fields' values, or
#: ``_SLOW`` = use ``node.children``
_GETTERS: Dict[type, object] = {}
_SLOW = object()


def field_order(cls: type) -> Optional[Tuple[str, ...]]:
    """Names of the fields ``cls._visit_and_replace_children`` visits, in visiting order; None when
    the method cannot be read that way."""
    method = getattr(cls, "_visit_and_replace_children", None)
    if method is None:
        return None
    try:
        source = textwrap.dedent(inspect.getsource(method))
    except (OSError, TypeError):
        return None
    function = ast.parse(source).body[0]
    if not isinstance(function, ast.FunctionDef):
        return None
    aliases = {}  # `names = self.names` before the return
    for statement in function.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name) and _self_attribute(statement.value):
            aliases[statement.targets[0].id] = statement.value.attr  # type: ignore[attr-defined]
    collect = _Collect(aliases)
    collect.visit(function)
    return tuple(collect.order) if collect.ok else None


class _Collect(ast.NodeVisitor):
    """The field names passed to libcst's ``visit_*`` helpers, in evaluation order (``generic_visit``
    of a call: func, args, keywords)."""

    def __init__(self, aliases: Dict[str, str]) -> None:
        self.aliases = aliases
        self.order: List[str] = []
        self.ok = True

    def visit_Call(self, call: ast.Call) -> None:
        func = call.func
        if isinstance(func, ast.Name) and func.id in _VISIT_HELPERS:
            if len(call.args) != 4 or not isinstance(call.args[1], ast.Constant):
                self.ok = False
                return
            name, value = call.args[1].value, call.args[2]
            read = value.attr if _self_attribute(value) else self.aliases.get(getattr(value, "id", None))
            if read != name:
                self.ok = False
                return
            if name not in self.order:
                self.order.append(name)
            return
        if isinstance(func, ast.Attribute) and func.attr in ("visit", "_visit_and_replace_children"):
            self.ok = False  # a child visited by hand: not a shape this reader knows
            return
        self.generic_visit(call)


def _self_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _getter(cls: type) -> object:
    """The reader of ``cls``'s visited fields (computed once per class)."""
    if cls in _GETTERS:
        return _GETTERS[cls]
    order = field_order(cls)
    getter: object
    if order is None:
        getter = _SLOW
    elif not order:
        getter = None
    elif len(order) == 1:
        single = operator.attrgetter(order[0])
        getter = lambda node: (single(node),)  # noqa: E731
    else:
        getter = operator.attrgetter(*order)
    _GETTERS[cls] = getter
    return getter


_DEFAULT = cst.MaybeSentinel.DEFAULT
_LEAVE = object()


def children(node: cst.CSTNode) -> List[cst.CSTNode]:
    """``node.children`` (same nodes, same order) without rebuilding ``node``."""
    cls = type(node)
    getter = _GETTERS[cls] if cls in _GETTERS else _getter(cls)
    if getter is None:
        return []
    if getter is _SLOW:
        return list(node.children)
    out: List[cst.CSTNode] = []
    for value in getter(node):  # type: ignore[operator]
        if value is None or value is _DEFAULT:
            continue
        kind = type(value)
        if kind is tuple or kind is list:
            out.extend(value)  # type: ignore[arg-type]
        else:
            out.append(value)  # type: ignore[arg-type]
    return out


Hooks = Tuple[Sequence[Callable[[cst.CSTNode], object]], Sequence[Callable[[cst.CSTNode], object]]]


def walk(root: cst.CSTNode, hooks: Callable[[type], Hooks], stack: List[cst.CSTNode],
         skip: frozenset = frozenset()) -> None:
    """Visit ``root`` and every descendant as ``root.visit(CSTVisitor)`` would, always entering the
    children (return values of the hooks are ignored).

    ``hooks(cls)`` gives the callables run on entering and on leaving a node of class ``cls``
    (asked once per class). ``stack`` holds the ancestors and the node itself while its hooks run:
    it is appended to before the entering hooks and popped after the leaving ones. Nodes of a
    class in ``skip`` are not entered, nor their descendants (pass ``TRIVIA`` when no hook is for
    a trivia class: the other nodes see exactly the same events and stacks).
    """
    per_class: Dict[type, tuple] = {}
    todo: List[object] = [root]
    pop = todo.pop
    push = todo.append
    while todo:
        item = pop()
        if item is _LEAVE:
            node = stack[-1]
            for method in per_class[type(node)][1]:
                method(node)
            stack.pop()
            continue
        cls = type(item)
        entry = per_class.get(cls)
        if entry is None:
            visits, leaves = hooks(cls)
            entry = per_class[cls] = (tuple(visits), tuple(leaves), _getter(cls))
        stack.append(item)  # type: ignore[arg-type]
        for method in entry[0]:
            method(item)
        push(_LEAVE)
        getter = entry[2]
        if getter is None:
            continue
        if getter is _SLOW:
            kids: Sequence[object] = item.children  # type: ignore[attr-defined]
        else:
            kids = []
            for value in getter(item):
                if value is None or value is _DEFAULT:
                    continue
                kind = type(value)
                if kind is tuple or kind is list:
                    for element in value:
                        if type(element) not in skip:
                            kids.append(element)
                elif kind not in skip:
                    kids.append(value)
        if skip and getter is _SLOW:
            kids = [kid for kid in kids if type(kid) not in skip]
        todo.extend(reversed(kids))
