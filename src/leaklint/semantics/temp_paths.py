"""Who removes a temporary path: the helpers that hand one to their caller, and the functions that
only read one they are given.

``path = save_upload(file)`` makes the route the path's owner (``save_upload`` returned it); handing
it on to ``process_audio(path)`` moves the obligation only if ``process_audio`` may remove it or
keep it. A function *keeps to reading* parameter i when every use of it is a read: an attribute,
a comparison, an f-string, or a call that is neither a remover nor a hand-over (``open(p)``,
``os.path.getsize(p)``, ``subprocess.run([..., p])``), or a project function that itself only reads
it. Anything else (stored, returned, passed to a callee we cannot see into by slot) may be the
removal, and counts as a hand-over: a miss, never a false alarm.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Optional, Tuple

import libcst as cst

from leaklint.semantics import state
from leaklint.semantics.obligations import named_callee
from leaklint.semantics.resources import PATH_REMOVERS

#: call or method names that remove, move or schedule the removal of a path (``tasks.add_task(os.remove, p)``)
REMOVING_NAMES = frozenset({"remove", "unlink", "rmtree", "rmdir", "removedirs", "add_task", "BackgroundTask",
                            "callback", "register", "finalize", "move", "rename", "replace",
                            "cleanup"})


def temp_path_helpers(project) -> FrozenSet[str]:
    """Project functions that return the path of a temp file or directory they made and left behind
    (``return NamedTemporaryFile(delete=False).name``, ``mkstemp``'s path, ``mkdtemp()``)."""
    return state._MEMO.get(project, "temp-path-helpers", lambda p: frozenset(
        name for name, (kind, _) in p.ownership.returns.items() if kind == "temp-path"))


def tuple_temp_helpers(project) -> Dict[str, int]:
    """Project functions that return a tuple with a temp path they left behind in it
    (``return tmp.name, filename``): function -> the item's index."""
    def compute(p) -> Dict[str, int]:
        return {name: int(names[0]) for name, record in p.functions.items() if record.ownership is not None
                for how, names in record.ownership.returns if how == "temp-item"}
    return state._MEMO.get(project, "tuple-temp-helpers", compute)


def only_reads(project, function: str, index: int) -> bool:
    """Does ``function`` only read the path passed as parameter ``index`` (see the module doc)?"""
    known = state._MEMO.get(project, "reads-path", lambda p: {})
    return _only_reads(project, function, index, known)  # type: ignore[arg-type]


def _only_reads(project, function: str, index: int, known: Dict[Tuple[str, int], bool]) -> bool:
    if (function, index) not in known:
        known[(function, index)] = False  # recursion proves nothing
        known[(function, index)] = _check(project, function, index, known)
    return known[(function, index)]


def _check(project, function: str, index: int, known) -> bool:
    record = project.functions.get(function)
    if record is None:
        return False
    for use in record.ownership.param_uses.get(index, ()):
        kind = use[0]
        if kind == "attr":
            continue
        if kind == "method":
            if use[1] in REMOVING_NAMES:
                return False
            continue
        if kind != "pass":
            return False  # stored, returned, used in ``with``: may be where it is removed
        names, slot = use[1].split(","), use[2]
        if any(n.rpartition(".")[2] in REMOVING_NAMES for n in names) or \
                any(project.canonical(n) in PATH_REMOVERS for n in names):
            return False
        target = next((c for c in map(project.canonical, names) if c in project.functions), None)
        if target is None:
            if any(n.startswith("<self>.") for n in names):
                return False  # a method of the same class: not followed
            continue  # a call into a library: it reads the path
        callee = project.functions[target]
        offset = 1 if callee.in_class and callee.params[:1] in (("self",), ("cls",)) else 0
        position = int(slot) + offset if slot.isdigit() else (
            callee.params.index(slot) if slot in callee.params else None)
        if position is None or not _only_reads(project, target, position, known):
            return False
    return True


def project_callee(ctx, fn, call) -> Tuple[Optional[str], int]:
    """The project function ``call`` reaches, and its implicit leading arguments: by qualified name,
    ``Cls(...)`` -> ``Cls.__init__``, ``self.m()`` in a method, and ``svc.m()`` on a parameter
    annotated with a project class (``svc: FileService = Depends(...)``)."""
    project = ctx.project
    target, offset = named_callee(ctx, call)
    if target is not None or not isinstance(call.func, cst.Attribute) or not isinstance(call.func.value, cst.Name):
        return target, offset
    receiver, method = call.func.value.value, call.func.attr.value
    if receiver in ("self", "cls"):
        path = ctx.function_path(fn)
        owner = f"{ctx.summary.module}.{path.rpartition('.')[0]}"
        return (f"{owner}.{method}", 1) if f"{owner}.{method}" in project.functions else (None, 0)
    params = fn.params
    param = next((p for p in (*params.posonly_params, *params.params, *params.kwonly_params)
                  if p.name.value == receiver), None)
    if param is None or param.annotation is None:
        return None, 0
    for name in ctx.qualify(param.annotation.annotation):
        candidate = f"{project.canonical(name)}.{method}"
        record = project.functions.get(candidate)
        if record is not None:
            return candidate, 1 if record.params[:1] in (("self",), ("cls",)) else 0
    return None, 0
