"""Check phase of the ownership analysis: is the obligation of a resource in this function met?

A local resource's obligation is met by a release on every path (``with``, a release in
``finally``, a helper whose summary releases its parameter, called in ``finally``), or it moves to
a new owner: returned, yielded, stored on an object, given to a known owner (``ExitStack``,
``closing``) or to code whose summary we do not have. A call whose summary only *borrows* the
resource (``count(db)`` that runs queries on it, ``json.dump(x, handle)``) moves nothing: the
caller still has to release it. The reduce phase (``semantics.ownership``) supplies the summaries.
"""

from __future__ import annotations

from typing import Iterable, Optional, Tuple

import libcst as cst

from leaklint.semantics.flow import FunctionIndex, walk
from leaklint.semantics.resources import BORROWING_CALLS, OWNING_CALLS

#: a load of the resource in one of these positions hands it to someone else
_OWNER_POSITIONS = (cst.Return, cst.Yield, cst.WithItem, cst.Element, cst.DictElement, cst.AssignTarget,
                    cst.Assign, cst.AnnAssign, cst.StarredElement, cst.NamedExpr, cst.Await, cst.Tuple,
                    cst.Lambda)


def named_callee(ctx, call: cst.Call) -> Tuple[Optional[str], int]:
    """The project function ``call`` reaches, and how many implicit leading arguments it has."""
    project = ctx.project
    for name in ctx.qualify(call.func):
        if name in project.functions:
            return name, 0
        definition = project.definition(name)
        if definition is not None and definition.kind == "class" and f"{name}.__init__" in project.functions:
            return f"{name}.__init__", 1
    return None, 0


def _slot(call: cst.Call, arg: cst.Arg, params: Tuple[str, ...], offset: int) -> Optional[int]:
    if arg.star:
        return None
    if arg.keyword is not None:
        return params.index(arg.keyword.value) if arg.keyword.value in params else None
    positional = [a for a in call.args if a.keyword is None]
    return positional.index(arg) + offset if arg in positional else None


def passed_to(ctx, call: cst.Call, arg: cst.Arg) -> str:
    """What ``call`` does with the resource passed as ``arg``: "release", "borrow" or "own"."""
    names = ctx.qualify(call.func)
    if names & OWNING_CALLS:
        return "release"
    if names & BORROWING_CALLS:
        return "borrow"
    target, offset = named_callee(ctx, call)
    if target is None:
        return "own"  # code we cannot see: assume it takes the resource over (a miss, never a false alarm)
    slot = _slot(call, arg, ctx.project.functions[target].params, offset)
    facts = ctx.project.ownership
    if slot is None:
        return "own"
    if slot in facts.releases.get(target, ()):
        return "release"
    if slot in facts.borrows.get(target, ()):
        return "borrow"
    return "own"


def managed_by_with(ctx, index: FunctionIndex, node: cst.CSTNode, name: str) -> bool:
    """Inside ``with <resource> [as name]:``, ``with closing(resource):`` or ``with helper(resource):``
    where the helper releases it (a pass-through ``@contextmanager`` that yields it back does not)."""
    for with_node in index.enclosing_withs(node):
        for item in with_node.items:
            expr = item.item
            if isinstance(expr, cst.Call) and expr.args:  # closing(db) / release_after(db)
                arg = expr.args[0]
                if isinstance(arg.value, cst.Name) and arg.value.value == name and \
                        passed_to(ctx, expr, arg) == "release":
                    return True
            elif isinstance(expr, cst.Name) and expr.value == name:
                return True
            if item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == name:
                return True
    return False


def _argument_of(index: FunctionIndex, load: cst.Name) -> Optional[Tuple[cst.Call, cst.Arg]]:
    parent = index.parent.get(load)
    if isinstance(parent, cst.Arg) and parent.value is load:
        call = index.parent.get(parent)
        if isinstance(call, cst.Call):
            return call, parent
    return None


def _captured(index: FunctionIndex, name: str) -> bool:
    """Does a nested function or lambda use ``name``? (``async def cleanup(): await client.close()``
    handed to a ``BackgroundTask``): the closure may release it later; we do not follow closures."""
    for kind in (cst.FunctionDef, cst.Lambda):
        for scope in index.all(kind):
            if any(isinstance(n, cst.Name) and n.value == name for n in walk(scope)):
                return True
    return False


def hands_over(ctx, index: FunctionIndex, name: str, yield_keeps: bool = False) -> bool:
    """Does the local ``name`` move to another owner anywhere in the function? ``yield_keeps``: the
    function's caller is FastAPI or a ``with`` statement, which take what it yields without closing it."""
    if _captured(index, name):
        return True
    for load in index.loads(name):
        parent = index.parent.get(load)
        if isinstance(parent, cst.Attribute):
            # ``stack.callback(db.close)``: the bound method is handed over, and the release with it
            if isinstance(index.parent.get(parent), cst.Arg):
                return True
            continue
        passed = _argument_of(index, load)
        if passed is not None:
            if passed_to(ctx, *passed) == "own":
                return True
            continue
        if yield_keeps and isinstance(parent, cst.Yield):
            continue
        if isinstance(parent, _OWNER_POSITIONS + (cst.Arg,)):
            return True
    return False


def release_calls(ctx, index: FunctionIndex, name: str, methods: Iterable[str]) -> list:
    """Calls that release ``name``: ``name.close()`` or ``helper(name)`` whose summary releases it."""
    methods = frozenset(methods)
    out = []
    for call in index.all(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name \
                and func.attr.value in methods:
            out.append(call)
            continue
        for arg in call.args:
            if isinstance(arg.value, cst.Name) and arg.value.value == name and passed_to(ctx, call, arg) == "release":
                out.append(call)
                break
    return out


def released_in_finally(ctx, index: FunctionIndex, node: cst.CSTNode, name: str, methods: Iterable[str]) -> bool:
    """Is ``name`` released in the ``finally`` of a ``try`` around ``node`` (directly or by a helper)?"""
    trys = index.guarding_trys(node)
    if not trys:
        return False
    return any(index.contains(t.finalbody, call) for call in release_calls(ctx, index, name, methods) for t in trys)


_BROAD = frozenset({"Exception", "BaseException"})


def _broad_handler(index: FunctionIndex, node: cst.CSTNode) -> bool:
    for ancestor in index.ancestors(node):
        if isinstance(ancestor, cst.ExceptHandler):
            kind = ancestor.type
            return kind is None or (isinstance(kind, (cst.Name, cst.Attribute)) and
                                    (kind.value if isinstance(kind, cst.Name) else kind.attr.value) in _BROAD)
    return False


def rebound_later(index: FunctionIndex, binder: cst.CSTNode, name: str) -> bool:
    """Is ``binder`` (``client = Redis()``) the first of exactly two plain bindings of ``name`` in one
    run of statements, the second later and not made from ``name`` (``client = Llama(...)``, maybe in
    a ``try:`` or ``with`` body, never in a branch or handler)? From the second on, the name holds
    something else: the first object is lost unless released or handed over before."""
    def statement_level(node: cst.CSTNode) -> cst.CSTNode:  # ``AssignTarget`` -> its ``Assign``
        return index.parent.get(node, node) if isinstance(node, cst.AssignTarget) else node

    others = [b for b in map(statement_level, index.assignments(name)) if b is not binder]
    if len(others) != 1 or not isinstance(binder, cst.Assign):
        return False
    other = others[0]
    if not isinstance(other, (cst.Assign, cst.AnnAssign)) or other.value is None or any(
            isinstance(n, cst.Name) and n.value == name for n in walk(other.value)):
        return False
    first, second = index.statement_of(binder), index.statement_of(other)
    block = index.parent.get(first) if first is not None else None
    if not isinstance(block, cst.IndentedBlock) or second is None:
        return False
    node: cst.CSTNode = second
    while index.parent.get(node) is not block:
        parent = index.parent.get(node)
        if parent is None or parent is index.fn:
            return False
        # a ``try:`` or ``with`` body runs in line; an ``if``, a loop or a handler may not run at all
        if isinstance(parent, cst.IndentedBlock) and isinstance(index.parent.get(parent), (cst.Try, cst.With)) \
                and index.parent.get(parent).body is parent:
            node = index.parent[parent]
            continue
        if isinstance(parent, cst.IndentedBlock):
            return False
        node = parent
    body = list(block.body)
    return node in body and body.index(first) < body.index(node)


def covers_every_path(index: FunctionIndex, releases: list) -> bool:
    """Released in a ``finally``, or both on the normal path and in an ``except Exception:`` (or bare)
    handler: every path but a ``BaseException`` such as cancellation releases it."""
    if any(index.in_finally(c) for c in releases):
        return True
    broad = [c for c in releases if _broad_handler(index, c)]
    return bool(broad) and any(not index.in_except(c) for c in releases)


def kept_on_per_request_instance(ctx, fn: cst.FunctionDef, index: FunctionIndex, call: cst.Call,
                                 release_methods: Iterable[str]) -> Optional[Tuple[str, str]]:
    """``self.x = Make()`` (or ``self.x = x or Make()``, made when a caller leaves ``x`` out) in
    ``__init__`` of a class made per request, where neither the class nor the module releases
    ``self.x`` and no base has a release method: (``self.x``, class name). The instance is the
    resource's owner, and nothing releases it for the instance."""
    from leaklint.semantics import instances

    cls = ctx.enclosing_class(fn)
    params = fn.params.params
    if fn.name.value != "__init__" or cls is None or not params:
        return None
    node, parent = call, index.parent.get(call)
    fallback = None
    if isinstance(parent, cst.BooleanOperation) and isinstance(parent.operator, cst.Or) and parent.right is call \
            and isinstance(parent.left, cst.Name):
        fallback, node, parent = parent.left.value, parent, index.parent.get(parent)
    if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1 and parent.value is node):
        return None
    target = parent.targets[0].target
    if not (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
            and target.value.value == params[0].name.value):
        return None
    attr, qualified = target.attr.value, f"{ctx.summary.module}.{ctx.function_path(fn).rpartition('.')[0]}"
    project, methods = ctx.project, frozenset(release_methods) | {"aclose"}
    if qualified not in instances.constructed_per_request(project) or \
            instances.may_release_what_it_holds(project, qualified) or _released_in(cls, attr, methods) or \
            any(f".{attr}.{m}(".encode() in ctx.source for m in methods):
        return None
    if fallback is not None:
        names = [p.name.value for p in params]
        if fallback not in names or not instances.constructed_without(project, qualified, names.index(fallback),
                                                                     fallback):
            return None
    return f"self.{attr}", cls.name.value


def _released_in(cls: cst.ClassDef, attr: str, methods) -> bool:
    """``self.<attr>`` released (``.close()``, ``.aclose``), used as a ``with`` item, handed to a
    call, returned or yielded anywhere in the class: someone may release it."""
    def is_attr(node) -> bool:
        return isinstance(node, cst.Attribute) and node.attr.value == attr

    for node in walk(cls):
        if isinstance(node, cst.Attribute) and node.attr.value in methods and is_attr(node.value):
            return True
        if isinstance(node, cst.WithItem) and is_attr(node.item) or \
                isinstance(node, (cst.Arg, cst.Return, cst.Yield)) and is_attr(node.value):
            return True
    return False

