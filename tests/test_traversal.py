"""The engine's walk (``leaklint.traversal``) yields exactly libcst's ``CSTVisitor`` events."""

from __future__ import annotations

import glob
import os

import libcst as cst
import pytest

from leaklint import traversal

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _sample_files():
    files = sorted(glob.glob(os.path.join(ROOT, "fixtures", "**", "*.py"), recursive=True))
    files += sorted(glob.glob(os.path.join(ROOT, "src", "leaklint", "**", "*.py"), recursive=True))
    return files


SYNTAX = '''
import a.b as c, d
from . import (x as y, z,)
from .m import *
@decorator(1, *a, k=2, **kw)
async def f(p, /, q: int = 1, *args, r, s=2, **kwargs) -> "T":
    global g
    nonlocal_ = lambda x, *y, z=1, **w: (x, y)
    async with a as (b, c), d:
        async for i in range(3):
            x = [i async for i in aiter() if i if not i]
            y = {k: v for k, v in z.items()}
            s = {1, 2, *t}
            g = (i for i in ())
            await q
    try:
        pass
    except* (E, F) as e:
        raise X from e
    else:
        del a[1:2, ::3], b.c
    finally:
        assert x, "m"
    match p:
        case {"k": [1, *rest], **others} | Point(x=0) if rest:
            return f"{x!r:>{width}} {y=}"
        case _:
            yield from z
    while not (a and b or c):
        break
    else:
        continue
    x: int = 1
    x += 1
    print(*a, sep="", **k); (yield)
    return a if b else c @ ~-d ** e | f
class C(B, metaclass=M):
    """doc"""
    x = 1; y = 2  # comment
type Alias[T: int, *Ts, **P] = list[T]
def generic[T = int](a: T) -> T: ...
print(t"hello {name!s:{fmt}}")
'''


class Recorder(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.events = []
        self.stack = []

    def on_visit(self, node):
        self.stack.append(node)
        self.events.append(("visit", id(node), len(self.stack)))
        return True

    def on_leave(self, original_node):
        self.events.append(("leave", id(original_node), len(self.stack)))
        self.stack.pop()


def _walk_events(module):
    events = []
    stack = []

    def hooks(cls):
        return ([lambda node: events.append(("visit", id(node), len(stack)))],
                [lambda node: events.append(("leave", id(node), len(stack)))])

    traversal.walk(module, hooks, stack)
    assert stack == []
    return events


def _parse(source):
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError:
        return None


def _check(module):
    recorder = Recorder()
    module.visit(recorder)
    walked = _walk_events(module)
    assert walked == recorder.events
    for node in _all_nodes(module):
        assert [id(c) for c in traversal.children(node)] == [id(c) for c in node.children]


def _all_nodes(module):
    nodes = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node):
            nodes.append(node)
            return True

    module.visit(Collect())
    return nodes


def test_every_syntax_of_the_sample():
    module = _parse(SYNTAX)
    if module is None:  # a libcst without PEP 695/696/750 support: drop those lines
        module = cst.parse_module("\n".join(SYNTAX.splitlines()[:-3]) + "\n")
    _check(module)


@pytest.mark.parametrize("path", _sample_files(), ids=lambda p: os.path.relpath(p, ROOT))
def test_same_events_as_cstvisitor(path):
    with open(path, "rb") as handle:
        module = _parse(handle.read())
    if module is not None:
        _check(module)


def test_every_node_class_has_a_field_order():
    """No class falls back to the slow ``node.children`` path with the installed libcst."""
    import inspect

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    slow = [c.__name__ for c in set(subclasses(cst.CSTNode))
            if not inspect.isabstract(c) and traversal.field_order(c) is None]
    assert slow == []


def _pruned_check(module):
    """With ``skip=TRIVIA`` the other nodes get exactly the events (and stack depths) they get from
    libcst."""
    recorder = Recorder()
    module.visit(recorder)
    by_id = {id(n): n for n in _all_nodes(module)}
    expected = [e for e in recorder.events if type(by_id[e[1]]) not in traversal.TRIVIA]
    events = []
    stack = []

    def hooks(cls):
        assert cls not in traversal.TRIVIA
        return ([lambda node: events.append(("visit", id(node), len(stack)))],
                [lambda node: events.append(("leave", id(node), len(stack)))])

    traversal.walk(module, hooks, stack, traversal.TRIVIA)
    assert events == expected


@pytest.mark.parametrize("path", _sample_files()[::4], ids=lambda p: os.path.relpath(p, ROOT))
def test_skipping_trivia_changes_nothing_for_the_other_nodes(path):
    with open(path, "rb") as handle:
        module = _parse(handle.read())
    if module is not None:
        _pruned_check(module)
    _pruned_check(cst.parse_module(SYNTAX))


def test_trivia_holds_only_trivia():
    """Every field a trivia class visits can only hold trivia (by libcst's own field types), so
    skipping a trivia node skips no other node."""
    import inspect
    import sys
    import typing

    def concrete(cls):  # classes libcst exports (``add_slots`` leaves the unslotted originals behind)
        public = getattr(sys.modules[cls.__module__], cls.__name__, None) is cls
        out = {cls} if public and not inspect.isabstract(cls) else set()
        for sub in cls.__subclasses__():
            out |= concrete(sub)
        return out

    def node_classes(tp):
        origin = typing.get_origin(tp)
        if origin is not None:
            return set().union(*(node_classes(a) for a in typing.get_args(tp)))
        if isinstance(tp, type) and issubclass(tp, cst.CSTNode):
            return concrete(tp)
        return set()

    import libcst._nodes.expression as expression_module

    for cls in traversal.TRIVIA:
        hints = typing.get_type_hints(cls, vars(expression_module))
        for name in traversal.field_order(cls):
            held = node_classes(hints[name])
            assert held <= traversal.TRIVIA, (cls.__name__, name, held - traversal.TRIVIA)
