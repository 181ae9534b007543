"""LL201's examples about keys that are class attributes: one value per class of a family, fixed at import."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

# the job classes live in another module; each binds its kind in the class body
_JOB_CLASSES = '''
from dataclasses import dataclass, field


@dataclass
class Job:
    id: str = field(default_factory=lambda: "j")
    kind: str = ""


@dataclass
class ExportJob(Job):
    kind: str = "export"


class ReplayJob(Job):
    kind = REPLAY = "replay"
'''
_MANAGER = """
import threading

from fastapi import FastAPI

from app.jobs import ExportJob, Job, ReplayJob

app = FastAPI()
_locks: dict = {}
_current: dict = {}


def _lock(kind: str) -> threading.Lock:
    if kind not in _locks:
        _locks[kind] = threading.Lock()
    return _locks[kind]


def start(job: Job | None) -> None:
    with _lock(job.kind):
        _current[job.kind] = job


@app.post("/export")
def export(owner: str):
    start(ExportJob(id=owner))


@app.post("/replay")
def replay():
    start(ReplayJob())
"""
_FILES = {"app/__init__.py": "", "app/jobs.py": _JOB_CLASSES}

VALID = [Valid(_MANAGER, files=_FILES, path="app/manager.py")]

INVALID = [
    # a construction passes the field: the request picks the key
    Invalid(_MANAGER.replace("start(ExportJob(id=owner))", "start(ExportJob(kind=owner))"), files=_FILES,
            path="app/manager.py", line=14, message="Module-level dict `_locks` grows on every request in `_lock`",
            count=2),
    # positional arguments may reach the field too
    Invalid(_MANAGER.replace("start(ExportJob(id=owner))", "start(ExportJob(owner, owner))"), files=_FILES,
            path="app/manager.py", line=14, count=2),
    # some function sets it on an instance
    Invalid(_MANAGER.replace("    start(ReplayJob())", "    job = ReplayJob()\n    job.kind = f\"replay-{id(job)}\"\n"
                             "    start(job)"), files=_FILES, path="app/manager.py", line=14, count=2),
    # a copy with the field changed
    Invalid(_MANAGER.replace("start(ExportJob(id=owner))", "start(replace(ExportJob(), kind=owner))").replace(
        "import threading\n", "import threading\nfrom dataclasses import replace\n"), files=_FILES,
        path="app/manager.py", line=15, count=2),
    # a classmethod that builds its own class with the field
    Invalid(_MANAGER, files={**_FILES, "app/jobs.py": _JOB_CLASSES + '''

    @classmethod
    def named(cls, kind):
        return cls(kind=kind)
'''}, path="app/manager.py", line=14, count=2),
    # written through the instance's dict
    Invalid(_MANAGER.replace("    start(ReplayJob())", "    job = ReplayJob()\n    vars(job)[\"kind\"] = str(id(job))\n"
                             "    start(job)"), files=_FILES, path="app/manager.py", line=14, count=2),
    # a pydantic model's class attributes are fields that request bodies fill
    Invalid(_MANAGER, files={**_FILES, "app/jobs.py": '''
from pydantic import BaseModel


class Job(BaseModel):
    kind: str = ""


class ExportJob(Job):
    kind: str = "export"


class ReplayJob(Job):
    kind: str = "replay"
'''}, path="app/manager.py", line=14, count=2),
    # bound by a call: a value per class still, but a descriptor or a factory may hand out anything
    Invalid(_MANAGER, files={**_FILES, "app/jobs.py": _JOB_CLASSES.replace(
        'kind: str = "export"', 'kind: str = field(default_factory=lambda: "export")')},
        path="app/manager.py", line=14, count=2),
]
