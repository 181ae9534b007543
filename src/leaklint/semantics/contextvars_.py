"""contextvars semantics: which names are ContextVars, and whether a token is reset for sure.

A ContextVar is recognised by its module-level definition (``var = ContextVar(...)``), in the linted
module or in another linted module it is imported from, so aliases and re-exports come out right
without type inference.
"""

from __future__ import annotations

from typing import List, Optional

import libcst as cst

from leaklint.traversal import children
from leaklint.semantics import flow
from leaklint.semantics.flow import FunctionIndex
from leaklint.semantics.names import matches
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import ModuleSummary

CONTEXTVAR = frozenset({"contextvars.ContextVar"})
COPY_CONTEXT = frozenset({"contextvars.copy_context"})
#: calls that run a function in a copy of the current context
CONTEXT_COPYING_RUNNERS = frozenset({"asyncio.to_thread", "asyncio.threads.to_thread"})


def is_contextvar_definition(definition) -> bool:
    return definition is not None and definition.kind == "call" and matches(frozenset(definition.callee), CONTEXTVAR)


def may_use_contextvars(summary: ModuleSummary, project: ProjectFacts) -> bool:
    """Cheap look: the module imports ``contextvars`` or a linted module's ContextVar."""
    if summary.imports_from("contextvars"):
        return True
    for qualified in summary.imported:
        if project.is_project_name(qualified) and \
                is_contextvar_definition(project.definition(project.canonical(qualified))):
            return True
    return False


def may_set_contextvar(summary: ModuleSummary, project: ProjectFacts) -> bool:
    return "set" in summary.called_methods and may_use_contextvars(summary, project)


def may_create_contextvar(summary: ModuleSummary, project: ProjectFacts) -> bool:
    return summary.calls_any(project, CONTEXTVAR)


def is_contextvar(ctx, expr: cst.BaseExpression) -> bool:
    """``expr`` names a module-level ContextVar (this module's or an imported linted one)."""
    if not isinstance(expr, (cst.Name, cst.Attribute)):
        return False
    for qualified in ctx.qualify(expr):
        definition = ctx.project.definition(qualified)
        if definition is None and qualified.startswith(ctx.summary.module + ".") and \
                qualified.count(".") == ctx.summary.module.count(".") + 1:
            definition = ctx.summary.definitions.get(qualified.rpartition(".")[2])
        if is_contextvar_definition(definition):
            return True
    return False


def is_contextvar_constructor(ctx, call: cst.Call) -> bool:
    return matches(ctx.qualify(call.func), CONTEXTVAR)


def set_call_receiver(call: cst.Call) -> Optional[cst.BaseExpression]:
    """``var.set(value)`` -> ``var`` (syntax only)."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "set" and len(call.args) == 1:
        return func.value
    return None


def _is_reset_of(node: cst.CSTNode, token: str) -> bool:
    """``X.reset(token)``, or ``X.callback(Y.reset, token)`` (``ExitStack``)."""
    if isinstance(node, cst.Await):
        node = node.expression
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Attribute):
        return False
    args = [a.value for a in node.args]
    if node.func.attr.value == "reset":
        return len(args) == 1 and isinstance(args[0], cst.Name) and args[0].value == token
    return (len(args) >= 2 and isinstance(args[0], cst.Attribute) and args[0].attr.value == "reset"
            and any(isinstance(a, cst.Name) and a.value == token for a in args[1:]))


def resets(index: FunctionIndex, token: str) -> List[cst.Call]:
    return [c for c in index.all(cst.Call) if _is_reset_of(c, token)]


def reset_for_sure(index: FunctionIndex, token: str) -> bool:
    """The token is reset in a ``finally`` or handed to an exit stack (``stack.callback(var.reset, tok)``)."""
    for call in resets(index, token):
        if call.func.attr.value != "reset" or index.in_finally(call):  # type: ignore[union-attr]
            return True
    return False


def restored_in_finally(ctx, index: FunctionIndex, var: cst.BaseExpression) -> bool:
    """A ``finally`` sets or resets the same variable again (``var.set(previous)``)."""
    text = ctx.code(var)
    for call in index.all(cst.Call):
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("set", "reset") and \
                ctx.code(func.value) == text and index.in_finally(call):
            return True
    return False


def token_escapes(index: FunctionIndex, token: str) -> bool:
    """The token is returned, yielded, stored, or passed to a call other than ``reset``."""
    for load in index.loads(token):
        node: cst.CSTNode = load
        parent = index.parent.get(node)
        if isinstance(parent, cst.Arg):
            call = index.parent.get(parent)
            if isinstance(call, cst.Call) and _is_reset_of(call, token):
                continue
            return True
        if isinstance(parent, (cst.Return, cst.Yield, cst.Element, cst.DictElement, cst.Assign, cst.AnnAssign,
                               cst.AssignTarget, cst.Tuple, cst.StarredElement, cst.Lambda, cst.NamedExpr)):
            return True
    for kind in (cst.FunctionDef, cst.Lambda):
        for scope in index.all(kind):
            if scope is not index.fn and any(isinstance(n, cst.Name) and n.value == token
                                             for n in _walk(scope)):
                return True  # a closure uses it
    return False


def _walk(node: cst.CSTNode):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(children(n))


def functions_run_in_copied_context(ctx) -> frozenset:
    """Names of functions this module runs through ``copy_context().run(fn, ...)`` or
    ``asyncio.to_thread(fn, ...)``: their ``set`` calls cannot leak into the caller's context."""
    key = "contextvars-copied-runs"
    if key in ctx.cache:
        return ctx.cache[key]
    names = set()
    if b".run(" in ctx.source or b"to_thread" in ctx.source:
        for node in _walk(ctx.module):
            if not isinstance(node, cst.Call) or not node.args:
                continue
            first = node.args[0].value
            func = node.func
            runner = False
            if isinstance(func, cst.Attribute) and func.attr.value == "run":
                receiver = func.value
                runner = (isinstance(receiver, cst.Call) and matches(ctx.qualify(receiver.func), COPY_CONTEXT)) or \
                    isinstance(receiver, (cst.Name, cst.Attribute))  # ctx.run(fn): a Context object
            elif matches(ctx.qualify(func), CONTEXT_COPYING_RUNNERS):
                runner = True
            if runner and isinstance(first, (cst.Name, cst.Attribute)):
                names.add(first.attr.value if isinstance(first, cst.Attribute) else first.value)
    ctx.cache[key] = frozenset(names)
    return ctx.cache[key]


def _is_set_statement(stmt: cst.CSTNode) -> bool:
    """``X.set(...)`` or ``return``/``return X.set(...)``/``return None`` as a statement line, or an
    ``if`` whose branches hold only such statements."""
    if isinstance(stmt, cst.If):
        if not all(_is_set_statement(s) for s in stmt.body.body):
            return False
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            return _is_set_statement(orelse)
        return orelse is None or all(_is_set_statement(s) for s in orelse.body.body)
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        value = small.value if isinstance(small, (cst.Expr, cst.Return)) else False
        if value is False:
            return False
        if isinstance(small, cst.Return) and (value is None or isinstance(value, (cst.Name, cst.Attribute))):
            continue  # `var.set(ctx); return ctx`: a setter handing back what it set
        if not (isinstance(value, cst.Call) and set_call_receiver(value) is not None):
            return False
    return True


def is_setter_tail(index: FunctionIndex, statement: cst.CSTNode) -> bool:
    """Nothing but more ``set`` calls runs after ``statement`` in its function (walking out through
    ``if``/``else`` only): the function exists to change its *caller's* context, like
    ``def set_current_user(user): current_user.set(user)``."""
    node = statement
    while True:
        parent = index.parent.get(node)
        if parent is None:
            return False
        if isinstance(parent, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            body = list(parent.body)
            if node not in body:
                return False
            if not all(_is_set_statement(s) for s in body[body.index(node) + 1:]):
                return False
            owner = index.parent.get(parent)
            if owner is index.fn:
                return True
            if isinstance(owner, cst.Else):
                owner = index.parent.get(owner)
            while isinstance(owner, cst.If) and isinstance(index.parent.get(owner), cst.If):
                owner = index.parent.get(owner)  # elif chains
            if not isinstance(owner, cst.If):
                return False
            node = owner
        else:
            node = parent


def assigned_token(index: FunctionIndex, call: cst.Call) -> Optional[str]:
    return flow.assigned_name(index, call)


#: calls that run a function on a pooled worker thread without copying the caller's context
EXECUTOR_METHODS = {"run_in_executor": 1, "submit": 0}
#: decorators of job functions run by a long-lived worker process (Celery, RQ, dramatiq, huey, arq)
TASK_DECORATOR_TAILS = ("task", "shared_task", "actor", "job", "periodic_task", "db_task")
TASK_PACKAGES = ("celery", "rq", "dramatiq", "huey", "arq", "taskiq")


def functions_run_in_executor(ctx) -> frozenset:
    """Names of functions this module hands to ``loop.run_in_executor(pool, fn)`` or
    ``executor.submit(fn)``: they run on a reused worker thread whose context outlives the job."""
    key = "contextvars-executor-runs"
    if key in ctx.cache:
        return ctx.cache[key]
    names = set()
    if b"run_in_executor" in ctx.source or b".submit(" in ctx.source:
        for node in _walk(ctx.module):
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
                    node.func.attr.value in EXECUTOR_METHODS:
                position = EXECUTOR_METHODS[node.func.attr.value]
                positional = [a for a in node.args if a.keyword is None]
                if len(positional) > position and isinstance(positional[position].value, (cst.Name, cst.Attribute)):
                    target = positional[position].value
                    names.add(target.attr.value if isinstance(target, cst.Attribute) else target.value)
    ctx.cache[key] = frozenset(names)
    return ctx.cache[key]


def is_worker_job(ctx, fn: cst.FunctionDef) -> bool:
    """A Celery/RQ/dramatiq/huey job: the worker process's context outlives every job."""
    facts = ctx.function_facts(fn)
    if facts is None or not ctx.summary.imports_from(*TASK_PACKAGES):
        return False
    for candidates, _ in facts.decorators:
        for name in candidates:
            if name.rpartition(".")[2] in TASK_DECORATOR_TAILS:
                return True
    return False


def restores_on_exit(cls: Optional[cst.ClassDef]) -> bool:
    """Does the class define ``__exit__``/``__aexit__`` that resets or re-sets a ContextVar?"""
    if cls is None:
        return False
    for stmt in cls.body.body:
        if isinstance(stmt, cst.FunctionDef) and stmt.name.value in ("__exit__", "__aexit__"):
            for node in _walk(stmt):
                if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and \
                        node.func.attr.value in ("reset", "set"):
                    return True
    return False


def is_clear(call: cst.Call) -> bool:
    """``var.set(None)``: the clear of a take-and-clear, not a value that can leak."""
    return len(call.args) == 1 and isinstance(call.args[0].value, cst.Name) and call.args[0].value.value == "None"


def is_get_or_create(ctx, index: FunctionIndex, call: cst.Call, var: cst.BaseExpression) -> bool:
    """``v = var.get(); if v is None: v = make(); var.set(v)``: a memo kept in the context on purpose."""
    code = ctx.code(var)
    gets = [c for c in index.all(cst.Call) if isinstance(c.func, cst.Attribute) and c.func.attr.value == "get"
            and ctx.code(c.func.value) == code]
    if not gets:
        return False
    for ancestor in index.ancestors(call):
        if isinstance(ancestor, cst.If):
            return True
        # ``try: return var.get()`` / ``except LookupError: var.set(default)``
        if isinstance(ancestor, cst.ExceptHandler) and isinstance(ancestor.type, (cst.Name, cst.Attribute)) and \
                ctx.code(ancestor.type).rpartition(".")[2] == "LookupError":
            return True
    return False
