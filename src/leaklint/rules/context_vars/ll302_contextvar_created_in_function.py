"""LL302 contextvar-created-in-function: a `ContextVar` created inside a function instead of at module level."""

from __future__ import annotations

import libcst as cst

from leaklint.rule import Invalid, Valid
from leaklint.rules.context_vars._common import CONTEXT_PY, _ContextVarRule
from leaklint.semantics import contextvars_ as cv
from leaklint.semantics.call_arguments import runs_with_unknown_callers


class ContextVarCreatedInFunction(_ContextVarRule):
    """## What it does
    Finds `contextvars.ContextVar(...)` called inside a function or method (including `__init__`).

    ## Why is this bad?
    The Python documentation says context variables should be created at the top level of a module,
    never in closures. Every call makes a *new* variable: a value set on one is invisible through the
    next, and each context that ever set one keeps it (and its value) alive in its mapping, so a
    variable created per request or per instance grows memory with traffic.

    ## Example
    ```python
    class RequestContext:
        def __init__(self):
            self.user = ContextVar("user", default=None)
    ```

    Use instead:
    ```python
    _user: ContextVar[User | None] = ContextVar("user", default=None)

    class RequestContext:
        user = _user
    ```

    ## Known problems
    Reported where the function runs per request (an `__init__`: where its class is constructed per
    request), or where nothing in the linted code calls it (a library's entry point). A variable made
    in a function only startup code, a CLI or a job calls, or in the `__init__` of a class made once
    (at module level, in a singleton's `__init__`), is one variable per run: not reported. Nor,
    a miss, is a private helper or class that only such an uncalled public function uses.
    """

    code = "LL302"
    name = "contextvar-created-in-function"
    message = "`ContextVar` created inside `{func}`: create it once at module level"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return cv.may_create_contextvar(summary, project)

    valid = [
        CONTEXT_PY,
        # class bodies run once
        """
import contextvars

class Context:
    user = contextvars.ContextVar("user", default=None)
""",
        # not contextvars' ContextVar
        """
class ContextVar:
    def __init__(self, name):
        self.name = name

def make():
    return ContextVar("x")
""",
        Valid("""
from app.context import request_id

def handler():
    return request_id.get()
""", files={"app/__init__.py": "", "app/context.py": CONTEXT_PY}, path="app/views.py"),
        # a registry that makes one variable per name, the first time the name is used
        """
from contextvars import ContextVar

class Globals:
    def __init__(self):
        object.__setattr__(self, "_vars", {})

    def _ensure(self, name):
        if name not in self._vars:
            self._vars[name] = ContextVar(f"globals:{name}", default=None)

    def _ensure_default(self, name):
        return self._vars.setdefault(name, ContextVar(name))

g = Globals()
""",
        # one variable per process: the class is made at module level, its helper in its __init__,
        # and the setup function only by the command that starts the server
        """
from contextvars import ContextVar

class Spans:
    def __init__(self):
        self.stack = ContextVar("stack", default=())

class Tracer:
    def __init__(self):
        self.spans = Spans()
        self.current = ContextVar("current", default=None)

tracer = Tracer()

def setup_tracing(name):
    return ContextVar(name, default=None)

def main():
    setup_tracing("trace")

if __name__ == "__main__":
    main()
""",
        # made once by module-level code that binds nothing, or through a subclass made once
        """
from contextvars import ContextVar

class Hooks:
    def __init__(self):
        self.active = ContextVar("active", default=False)

class Plugin(Hooks):
    pass

def register(hooks):
    return hooks

register(Hooks())
plugin = Plugin()
""",
    ]
    invalid = [
        Invalid("""
from contextvars import ContextVar
from fastapi import FastAPI

app = FastAPI()

class Scope:
    def __init__(self, user):
        self.user = ContextVar("user", default=user)

@app.get("/me")
def me(user: str):
    return Scope(user).user.get()
""", line=8, message="inside `__init__`"),
        Invalid("""
from contextvars import ContextVar as CV

class RequestContext:
    def __init__(self):
        self.user = CV("user", default=None)
""", line=5, column=21, message="inside `__init__`"),
        Invalid("""
import contextvars

def middleware_factory(app):
    var = contextvars.ContextVar("state")

    async def middleware(scope, receive, send):
        var.set(scope)
        await app(scope, receive, send)
    return middleware
""", line=4, message="inside `middleware_factory`"),
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if "ContextVar" not in name and not isinstance(func, cst.Name):
            return
        fn = self.ctx.current_function()
        if fn is None or not cv.is_contextvar_constructor(self.ctx, node) or self._memoised(node) or \
                not runs_with_unknown_callers(self.ctx, fn):
            return
        self.report(node, func=fn.name.value)

    def _memoised(self, node: cst.Call) -> bool:
        """``self._vars[name] = ContextVar(...)`` under ``if name not in self._vars``: one variable per
        key, made the first time and reused (a registry), not one per call."""
        parent = self.ctx.parent(node)
        if isinstance(parent, cst.Arg):
            call = self.ctx.parent(parent)
            return isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute) and \
                call.func.attr.value == "setdefault"
        if not (isinstance(parent, cst.Assign) and len(parent.targets) == 1 and
                isinstance(parent.targets[0].target, cst.Subscript)):
            return False
        container = self.ctx.code(parent.targets[0].target.value)
        for ancestor in self.ctx.ancestors(parent):
            if isinstance(ancestor, cst.FunctionDef):
                return False
            if isinstance(ancestor, cst.If) and isinstance(ancestor.test, cst.Comparison) and any(
                    isinstance(t.operator, cst.NotIn) and self.ctx.code(t.comparator) == container
                    for t in ancestor.test.comparisons):
                return True
        return False
