"""Callbacks whose return value the caller throws away: a task returned from one is dropped.

``loop.add_signal_handler(sig, lambda: asyncio.create_task(shutdown()))`` keeps no reference to the
task: the loop calls the lambda and discards what it returns. The same holds for ``call_soon``,
``call_later``, ``add_done_callback``, ``signal.signal``, Starlette's ``add_event_handler`` and
``on_startup=[...]``, and an ``@app.on_event(...)`` handler, whether the callback is a lambda, a
function defined in the module (or nested in the function that registers it), or a name bound to
a lambda. LL401 asks ``discarding_registrar`` about a spawn that a lambda or a ``return`` hands on,
and ``runs_at_stop`` whether a spawn only runs as the process stops (a signal handler, ``__del__``).
"""

from __future__ import annotations

import re

from typing import Dict, List, Optional, Tuple

import libcst as cst

from leaklint.semantics import flow
from leaklint.semantics.names import matches

#: method -> position of the callback among the positional arguments
CALLBACK_METHODS: Dict[str, int] = {
    "add_signal_handler": 1, "call_soon": 0, "call_soon_threadsafe": 0, "call_later": 1, "call_at": 1,
    "add_reader": 1, "add_writer": 1, "add_done_callback": 0, "add_event_handler": 1,
}
CALLBACK_FUNCTIONS: Dict[str, int] = {"signal.signal": 1}
#: ``FastAPI(on_startup=[...])``, ``Starlette(on_shutdown=[...])``, ``APIRouter(on_startup=...)``
EVENT_LISTS = frozenset({"on_startup", "on_shutdown"})


def _registrar(ctx, arg: cst.Arg, call: cst.Call) -> Optional[str]:
    """``arg`` is the callback argument of ``call``, a caller that ignores what the callback returns."""
    if arg.keyword is not None or arg.star:
        return None
    position = [a for a in call.args if a.keyword is None and not a.star].index(arg) \
        if arg in call.args else -1
    func = call.func
    if isinstance(func, cst.Attribute) and CALLBACK_METHODS.get(func.attr.value) == position:
        return f"`.{func.attr.value}()`"
    for name, index in CALLBACK_FUNCTIONS.items():
        if index == position and matches(ctx.qualify(func), frozenset({name})):
            return f"`{name}()`"
    return None


def _callback_site(ctx, node: cst.CSTNode, parent_of) -> Optional[str]:
    """Where the expression ``node`` is registered as a discarding callback, if it is."""
    parent = parent_of(node)
    if isinstance(parent, cst.Arg) and parent.value is node:
        call = parent_of(parent)
        if isinstance(call, cst.Call):
            return _registrar(ctx, parent, call)
    if isinstance(parent, cst.Element) and parent.value is node:
        sequence = parent_of(parent)
        arg = parent_of(sequence) if isinstance(sequence, (cst.List, cst.Tuple)) else None
        if isinstance(arg, cst.Arg) and arg.keyword is not None and arg.keyword.value in EVENT_LISTS:
            return f"`{arg.keyword.value}=`"
    return None


def _module_parents(ctx) -> Dict[cst.CSTNode, cst.CSTNode]:
    key = "asyncio-callbacks-module-parents"
    if key not in ctx.cache:
        ctx.cache[key] = flow.parent_map(ctx.module)
    return ctx.cache[key]


def _module_loads(ctx, name: str) -> List[cst.Name]:
    key = ("asyncio-callbacks-module-loads", name)
    if key not in ctx.cache and name.isascii() and name in ctx.summary.definitions and \
            len(re.findall(rb"\b%s\b" % name.encode(), ctx.source)) == 1:
        ctx.cache[key] = []  # named only where it is defined: no parent map of the whole module needed
    if key not in ctx.cache:
        parents = _module_parents(ctx)
        ctx.cache[key] = [n for n in parents if isinstance(n, cst.Name) and n.value == name
                          and not _is_binding(n, parents.get(n))]
    return ctx.cache[key]


def _is_binding(name: cst.Name, parent: Optional[cst.CSTNode]) -> bool:
    if isinstance(parent, (cst.FunctionDef, cst.ClassDef)) and parent.name is name:
        return True
    if isinstance(parent, (cst.AssignTarget, cst.AnnAssign)) and getattr(parent, "target", None) is name:
        return True
    if isinstance(parent, cst.Attribute) and parent.attr is name:
        return True  # ``obj.name`` is another object's attribute
    if isinstance(parent, (cst.Param, cst.Arg)) and getattr(parent, "keyword", None) is name:
        return True
    return isinstance(parent, cst.Param) and parent.name is name


def _registrars(ctx, name: str, scope: Optional[cst.FunctionDef]) -> List[str]:
    """Where each use of the callable ``name`` (in ``scope``, or the module) registers it as a
    discarding callback; empty when some use does not (called for its value, stored) or none exists."""
    if scope is not None:
        index = flow.index_of(ctx, scope)
        loads, parent_of = index.loads(name), index.parent.get
    else:
        loads, parent_of = _module_loads(ctx, name), _module_parents(ctx).get
    sites = [_callback_site(ctx, load, parent_of) for load in loads]
    return [] if any(site is None for site in sites) else sites


def _only_registered(ctx, name: str, scope: Optional[cst.FunctionDef]) -> Optional[str]:
    """Every use of ``name`` registers it as a discarding callback: the first registrar, else None."""
    sites = _registrars(ctx, name, scope)
    return sites[0] if sites else None


def _on_event_handler(ctx, fn: cst.FunctionDef) -> Optional[str]:
    for decorator in fn.decorators:
        deco = decorator.decorator
        if isinstance(deco, cst.Call) and isinstance(deco.func, cst.Attribute) and deco.func.attr.value == "on_event":
            return "`@on_event`"
    return None


def _enclosing_function(ctx, node: cst.CSTNode) -> Tuple[Optional[cst.FunctionDef], Optional[cst.FunctionDef]]:
    """The function defining ``node``'s scope, and the function around that one (None at module level)."""
    functions = [a for a in ctx.ancestors(node) if isinstance(a, cst.FunctionDef)]
    if not functions:
        return None, None
    return functions[0], functions[1] if len(functions) > 1 else None


def discarding_registrar(ctx, call: cst.Call) -> Optional[str]:
    """``call`` (a spawn) is what a callback returns to a caller that throws it away: how, for the
    message (``returned from a lambda passed to .add_signal_handler()``), else None."""
    parent = ctx.parent(call)
    if isinstance(parent, cst.Lambda) and parent.body is call:
        site = _callback_site(ctx, parent, ctx.parent)
        if site is not None:
            return f"returned from a lambda passed to {site}, which discards it"
        holder = ctx.parent(parent)
        if isinstance(holder, cst.Assign) and len(holder.targets) == 1 and \
                isinstance(holder.targets[0].target, cst.Name):
            name = holder.targets[0].target.value
            fn, _ = _enclosing_function(ctx, parent)
            site = _only_registered(ctx, name, fn)
            if site is not None:
                return f"returned from the lambda `{name}`, passed to {site}, which discards it"
        return None
    if not (isinstance(parent, cst.Return) and parent.value is call):
        return None
    fn, outer = _enclosing_function(ctx, call)
    if fn is None or ctx.enclosing_class(fn) is not None:
        return None
    if any(isinstance(a, cst.Lambda) for a in ctx.ancestors(call)):
        return None
    site = _on_event_handler(ctx, fn) or _only_registered(ctx, fn.name.value, outer)
    if site is None:
        return None
    return f"returned by `{fn.name.value}`, a callback of {site}, which discards it"


#: registrars whose callbacks run when the process is told to stop
SIGNAL_REGISTRARS = frozenset({"`.add_signal_handler()`", "`signal.signal()`"})


def runs_at_stop(ctx, call: cst.Call) -> bool:
    """``call`` runs only as the process stops: in a finaliser (``__del__``: its object is being
    collected, so there is no owner left to keep the task), or in a lambda or function registered
    only as a signal handler. Such a task is spawned once, at the end; it cannot pile up."""
    fn, outer = _enclosing_function(ctx, call)
    if fn is not None and fn.name.value == "__del__":
        return True
    lambdas = [a for a in ctx.ancestors(call) if isinstance(a, cst.Lambda)]
    if lambdas:
        holder = lambdas[0]
        site = _callback_site(ctx, holder, ctx.parent)
        if site is None:
            assign = ctx.parent(holder)
            if isinstance(assign, cst.Assign) and len(assign.targets) == 1 and \
                    isinstance(assign.targets[0].target, cst.Name):
                sites = _registrars(ctx, assign.targets[0].target.value, fn)
                return bool(sites) and set(sites) <= SIGNAL_REGISTRARS
        return site in SIGNAL_REGISTRARS
    if fn is None or ctx.enclosing_class(fn) is not None:
        return False
    sites = _registrars(ctx, fn.name.value, outer)
    return bool(sites) and set(sites) <= SIGNAL_REGISTRARS


def _defined_function(ctx, name: str, fn: Optional[cst.FunctionDef]) -> Optional[cst.FunctionDef]:
    """The ``def name`` nested in ``fn`` (or in the functions around it), else at module level."""
    scopes = [a for a in ctx.ancestors(fn) if isinstance(a, cst.FunctionDef)] if fn is not None else []
    for scope in ([fn] if fn is not None else []) + scopes:
        for inner in flow.index_of(ctx, scope).all(cst.FunctionDef):
            if inner.name.value == name:
                return inner
    found = [s for s in ctx.module.body if isinstance(s, cst.FunctionDef) and s.name.value == name]
    return found[0] if len(found) == 1 else None


def never_suspends(ctx, spawn: cst.Call, fn: Optional[cst.FunctionDef]) -> bool:
    """``create_task(handler())`` where ``handler`` is an ``async def`` of this module with no
    ``await``/``async for``/``async with``: the task runs to its end in its first step, which the
    loop's ready queue holds strongly, so it cannot vanish mid-flight."""
    coro = spawn.args[0].value if spawn.args and spawn.args[0].keyword is None else None
    if not isinstance(coro, cst.Call) or not isinstance(coro.func, cst.Name):
        return False
    qualified = ctx.qualify(coro.func)
    own = f"{ctx.summary.module}.{coro.func.value}"
    if qualified and qualified != frozenset({own}):
        return False  # imported: not this module's function
    target = _defined_function(ctx, coro.func.value, fn)
    if target is None or target.asynchronous is None or target.decorators:
        return False
    for node in flow.walk(target.body, own_scope=True):
        if isinstance(node, (cst.Await, cst.Yield)) or (isinstance(node, (cst.For, cst.With)) and node.asynchronous):
            return False
    return True
