"""LL103 unclosed-session: a local session or connection that is not closed on every path."""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.rules.sessions._common import _SessionRule, _created_sessions
from leaklint.semantics import flow
from leaklint.semantics import sqlalchemy as sa
from leaklint.semantics import obligations
from leaklint.semantics.context import dotted_parts
from leaklint.semantics.flow import FunctionIndex
from leaklint.rules.sessions import ll103_kept_session_examples as kept
from leaklint.rules.sessions import ll103_local_factory_examples as local_factory
from leaklint.rules.sessions import ll103_rebound_session_examples as rebound_examples
from leaklint.rules.sessions.ll103_unclosed_session_examples import INVALID, VALID


def _state_target(index: FunctionIndex, call: cst.Call) -> Optional[str]:
    """``request.state.db = SessionLocal()`` -> ``"request.state.db"``: ``request.state`` owns nothing."""
    parent = index.parent.get(call)
    if isinstance(parent, cst.Await):
        call, parent = parent, index.parent.get(parent)
    if not (isinstance(parent, cst.Assign) and parent.value is call and len(parent.targets) == 1):
        return None
    parts = dotted_parts(parent.targets[0].target)
    if parts is None or len(parts) != 3 or parts[1] != "state":
        return None
    return ".".join(parts)


def _state_closes(index: FunctionIndex, target: str, methods) -> List[cst.Call]:
    return [c for c in index.all(cst.Call) if isinstance(c.func, cst.Attribute) and c.func.attr.value in methods
            and dotted_parts(c.func.value) == target.split(".")]


def _on_managed_connection(index: FunctionIndex, call: cst.Call) -> bool:
    """``AsyncSession(bind=conn)`` inside ``async with engine.begin() as conn:``: the session holds no
    pool connection of its own; the ``with`` returns the one it borrows."""
    bind = next((a.value for a in call.args if a.keyword is not None and a.keyword.value == "bind"), None)
    if bind is None and call.args and call.args[0].keyword is None:
        bind = call.args[0].value
    if not isinstance(bind, cst.Name):
        return False
    return any(isinstance(item.asname.name, cst.Name) and item.asname.name.value == bind.value
               for with_node in index.enclosing_withs(call) for item in with_node.items if item.asname is not None)


class UnclosedSession(_SessionRule):
    """## What it does
    Finds a SQLAlchemy session or connection bound in a function and not closed on every path: no
    `with`, no `close()` in a `finally`, and not returned, yielded or handed to an owner. It is made
    by `Session(...)`, `SessionLocal()`, `AsyncSession(...)`, `engine.connect()`, or by the project's
    own helpers, in any module: a function that returns one (`new_session()`), a factory's product
    (`get_factory()()`, or `Session()` after `Session = sessionmaker(...)` in the function), the
    session of a generator (`next(generate_session())`). A helper that
    closes the session it receives (`_safe_close(db)`) counts as a close; a helper that only uses it
    (`crud.count(db)`) does not take it over. A session kept on `request.state` in a middleware is
    reported too: nobody closes `request.state`. So is one that `__init__` of a class made per
    request keeps on `self` (also `self.db = db or new_session()`, when a per-request caller leaves
    `db` out) while neither the class, its bases nor the module closes it. So is one whose name is
    later rebound to another object (`db = None`) with no close or hand-over in the function.

    ## Why is this bad?
    An open session holds a pooled connection (and its identity map holds every loaded object). A
    `close()` at the end of the happy path is skipped by any exception, so each failing call leaks a
    connection until the pool is exhausted.

    ## Example
    ```python
    def count_users():
        db = SessionLocal()
        n = db.query(User).count()
        db.close()
        return n
    ```

    Use instead:
    ```python
    def count_users():
        with SessionLocal() as db:
            return db.query(User).count()
    ```

    ## Known problems
    A session handed to code leaklint cannot see (a library call, a method of an object of unknown
    type) is assumed to be owned by the callee and not reported: the rule prefers a miss to a false
    alarm.
    """

    code = "LL103"
    name = "unclosed-session"
    message = "{what} `{var}` is {problem}; use `with` or close it in `finally`"

    valid = VALID + kept.VALID + rebound_examples.VALID + local_factory.VALID
    invalid = INVALID + kept.INVALID + rebound_examples.INVALID + local_factory.INVALID

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        facts = self.ctx.function_facts(node)
        if facts is None or not sa.creates_resources(self.ctx.project, facts.called):
            return
        index = flow.index_of(self.ctx, node)
        for call, resource in _created_sessions(self.ctx, index):
            name = flow.assigned_name(index, call)
            what = "Session" if resource.kind == "session" else "Connection"
            if name is None:
                target = _state_target(index, call)
                if target is not None:
                    closes = _state_closes(index, target, resource.close_methods)
                    if not obligations.covers_every_path(index, closes):
                        problem = "closed only on the happy path" if closes else "never closed"
                        self.report(call, what=what, var=target, problem=problem)
                    continue
                owner = obligations.kept_on_per_request_instance(self.ctx, node, index, call, resource.close_methods)
                if owner is not None:
                    self.report(call, what=what, var=owner[0],
                                problem=f"kept on an instance of `{owner[1]}`, made per request, and never closed")
                continue
            binders = index.assignments(name)
            rebound = len(binders) == 2 and obligations.rebound_later(index, index.parent.get(call), name)
            if (len(binders) != 1 and not rebound) or _on_managed_connection(index, call):
                continue
            if obligations.managed_by_with(self.ctx, index, call, name) or obligations.hands_over(self.ctx, index, name):
                continue
            closes = obligations.release_calls(self.ctx, index, name, resource.close_methods)
            if obligations.covers_every_path(index, closes):
                continue
            problem = "closed only on the happy path" if closes else \
                "rebound to another object before it is closed" if rebound else "never closed"
            self.report(call, what=what, var=name, problem=problem)
