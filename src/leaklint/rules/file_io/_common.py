"""What the LL5xx rules share: the family base class, name and await helpers, the clean-up check, example apps."""

from __future__ import annotations

from typing import Optional

import libcst as cst

from leaklint.rule import Rule
from leaklint.semantics import files, temp_paths
from leaklint.semantics.flow import FunctionIndex
from leaklint.semantics.names import matches

CLEANUP_CALLS = temp_paths.REMOVING_NAMES


class _FileRule(Rule):
    """Base of the LL5xx rules on handlers and what they call. Test modules are not checked: their
    apps serve the test run only, as for the session and task rules."""

    family = "file-io"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return not summary.is_test_module and cls.fires_in(summary, project)

    @classmethod
    def fires_in(cls, summary, project) -> bool:
        return files.has_handlers(summary, project)


def _name_available(ctx, index: Optional[FunctionIndex], name: str, qualified: str) -> bool:
    """Can a fix write ``name`` meaning ``qualified`` (already imported as that, or free to import)?"""
    current = ctx.qualify(cst.Name(name))
    if current:
        return qualified in current
    if name in ctx.summary.definitions or name in ctx.summary.imports:
        return False
    return index is None or not any(index.is_store(n) for n in index.names(name))


def _unwrap_await(node: cst.CSTNode) -> cst.CSTNode:
    return node.expression if isinstance(node, cst.Await) else node


def _outer(index: FunctionIndex, node: cst.CSTNode) -> cst.CSTNode:
    """``node`` or the ``await node`` around it."""
    parent = index.parent.get(node)
    return parent if isinstance(parent, cst.Await) else node


STREAM_APP = """
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
"""

FILE_APP = """
import tempfile
from fastapi import FastAPI
from fastapi.responses import FileResponse

app = FastAPI()
"""


def _cleans_up(ctx, index: FunctionIndex, binding: files.TempBinding) -> bool:
    """Removed, scheduled for removal, or moved away somewhere in the function."""
    for call in index.all(cst.Call):
        if files.last_name(call.func) not in CLEANUP_CALLS and \
                not matches(ctx.qualify(call.func), files.REMOVERS):
            continue
        receiver = call.func.value if isinstance(call.func, cst.Attribute) else None
        if any(files.refers_to(a.value, binding) for a in call.args) or \
                (receiver is not None and files.last_name(call.func) in ("unlink", "rmtree", "cleanup")
                 and files.refers_to(receiver, binding)):
            return True
    for assign in index.all(cst.Assign):  # response.background = BackgroundTask(...)
        if any(isinstance(t.target, cst.Attribute) and t.target.attr.value == "background" for t in assign.targets):
            return True
    return False
