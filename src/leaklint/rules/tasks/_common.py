"""What the LL4xx rules share: the family base class and the example compat module."""

from __future__ import annotations

from leaklint.rule import Rule
from leaklint.semantics import asyncio_ as aio

COMPAT_PY = """
from asyncio import create_task, ensure_future
"""


class _TaskRule(Rule):
    family = "tasks"

    @classmethod
    def can_fire(cls, summary, project) -> bool:
        return not summary.is_test_module and not summary.is_script_module and aio.may_spawn(summary, project)
