"""LL201's examples about keys fixed by the code base and its configuration, across modules."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

# keyed by paths fixed by the code base and its configuration: a package resource, a file under the
# configured data directory (a zero-argument getter of each, through locals, an f-string, a choice)
_METRIC_PATHS = {"app/__init__.py": "", "app/config.py": """
_config = None


def get_config():
    return _config


def set_config(cfg):
    global _config
    _config = cfg
""", "app/paths.py": """
from importlib.resources import files


def builtin_metrics_path() -> str:
    name = "metrics.yaml"
    return str(files("app.assets").joinpath(name))
"""}
_METRIC_ROUTES = """
import asyncio
import os

from fastapi import APIRouter

from app.config import get_config
from app.paths import builtin_metrics_path

router = APIRouter()
_locks = {}


async def _load(path: str) -> dict:
    async with _locks.setdefault(path, asyncio.Lock()):
        return {}


@router.get("/metrics/default")
async def default_metrics():
    path = builtin_metrics_path()
    return await _load(path)


@router.get("/metrics/config")
async def metrics_config():
    data_dir = get_config().data_dir
    custom = f"{data_dir}/custom.yaml"
    chosen = custom if os.path.exists(custom) else builtin_metrics_path()
    return await _load(chosen)
"""

_RUNS = """
import secrets

from fastapi import APIRouter

router = APIRouter()
_runs = {}


def new_run_id():
    return f"run-{secrets.token_hex(8)}"


def _start(run_id):
    _runs[run_id] = {"state": "queued"}
"""

VALID = [Valid(_METRIC_ROUTES, files=_METRIC_PATHS, path="app/routes.py")]

INVALID = [
    # an argument-less getter that makes a fresh value each call
    Invalid(_RUNS + """

@router.post("/runs")
def start():
    _start(new_run_id())
""", line=14, message="Module-level dict `_runs` grows on every request in `_start` (POST /runs"),
    # a local that a loop rebinds is not the fixed value it is first given
    Invalid(_RUNS + """

@router.post("/batches")
def batch(names: list[str]):
    name = "first"
    for name in names:
        _start(name)
""", line=14, message="(POST /batches"),
    # one of the paths is made fresh per request
    Invalid(_METRIC_ROUTES.replace("path = builtin_metrics_path()", "path = f\"/tmp/{uuid.uuid4()}.yaml\"").replace(
        "import os\n", "import os\nimport uuid\n"), files=_METRIC_PATHS, path="app/routes.py", line=15,
        message="Module-level dict `_locks` grows on every request in `_load`"),
]
