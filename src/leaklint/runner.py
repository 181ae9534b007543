"""A whole run: discover -> map (summaries) -> reduce (project facts) -> check every file.

Both phases run in a process pool for more than a handful of files. Workers receive paths and
plain data and return plain data; no syntax tree outlives the file it belongs to, so memory per
worker stays flat however large the project is.
"""

from __future__ import annotations

import fnmatch
import gc
import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from leaklint import registry
from leaklint.config import Settings
from leaklint.engine import FileResult, FixOptions, SourceError, lint_source, read_source, tool_diagnostic
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.resources import DEFAULT_TABLE, ResourceTable
from leaklint.semantics.summary import ModuleSummary, module_name_for, summarise
from leaklint.writer import WriteError, write_atomic

SERIAL_BELOW = 8  # a pool costs more than it saves on tiny inputs
INTERNAL = "internal error: "


def _internal(exc: BaseException) -> str:
    """One line for a bug in leaklint on one file (``LEAKLINT_DEBUG=1`` re-raises instead)."""
    if os.environ.get("LEAKLINT_DEBUG"):
        raise exc
    text = " ".join(str(exc).split())
    return f"{INTERNAL}{type(exc).__name__}: {text} (set LEAKLINT_DEBUG=1 for a traceback)"


@dataclass
class RunResult:
    results: List[FileResult] = field(default_factory=list)
    errors: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides the project facts (which it receives once)."""

    codes: Tuple[str, ...]
    per_file_ignores: Tuple[Tuple[str, Tuple[str, ...]], ...]
    root: str
    options: FixOptions
    write: bool


# -- map ---------------------------------------------------------------------------------------

def summarise_path(path: str, source: Optional[bytes] = None,
                   roots: Sequence[str] = ()) -> Tuple[str, Optional[ModuleSummary], Optional[str]]:
    try:
        data = read_source(path) if source is None else source
    except SourceError as exc:
        return path, None, str(exc)
    try:
        module, package = module_name_for(path, roots)
        return path, summarise(data, path, module, package), None
    except Exception as exc:  # a bug on one file must not end the run for the others
        return path, None, _internal(exc)


def _summarise_chunk(paths: Sequence[str], roots: Sequence[str] = ()
                     ) -> List[Tuple[str, Optional[ModuleSummary], Optional[str]]]:
    return [summarise_path(p, roots=roots) for p in paths]


def resource_table(settings: Settings) -> ResourceTable:
    """The built-in resource kinds plus the ones ``[tool.leaklint.resources]`` declares."""
    return DEFAULT_TABLE.with_user_kinds(settings.resources) if settings.resources else DEFAULT_TABLE


# -- check -------------------------------------------------------------------------------------

_PROJECT: Optional[ProjectFacts] = None
_JOB: Optional[Job] = None


def _init_worker(project: bytes, job: Job) -> None:
    """``project``: the pickled project facts (pickled once by the parent, not once per worker)."""
    global _PROJECT, _JOB
    _PROJECT, _JOB = pickle.loads(project), job
    tune_gc()
    gc.freeze()  # the project facts live as long as the worker: no collection needs to look at them


def tune_gc() -> None:
    """Fewer cyclic collections in a process that builds syntax trees (millions of acyclic objects,
    freed by reference counting): with the default thresholds a collection runs every 700
    allocations and, once the project facts are in memory, takes about a fifth of the run.
    Called by the CLI and in the workers, never by the library."""
    gc.set_threshold(100_000, 50, 100)


def codes_for(path: str, job: Job) -> List[str]:
    rel = os.path.relpath(os.path.abspath(path), job.root).replace(os.sep, "/")
    name = os.path.basename(path)
    ignored = set()
    for glob, codes in job.per_file_ignores:
        if fnmatch.fnmatchcase(rel, glob) or fnmatch.fnmatchcase(name, glob) or fnmatch.fnmatchcase(path, glob):
            for code in codes:
                ignored.update(registry.expand(code))
    return [c for c in job.codes if c not in ignored]


def check_one(path: str, summary: ModuleSummary, project: ProjectFacts, job: Job,
              source: Optional[bytes] = None) -> FileResult:
    codes = codes_for(path, job)
    try:
        data = read_source(path) if source is None else source
    except SourceError as exc:
        return FileResult(path, [tool_diagnostic("LL002", path, str(exc))])
    try:
        result = lint_source(path, data, summary, project, registry.classes(codes), job.options)
    except Exception as exc:  # a bug on one file must not end the run for the others
        return FileResult(path, error=f"{path}: {_internal(exc)}")
    result.diagnostics = [d for d in result.diagnostics if d.code in codes]
    if job.write and result.fixed is not None:
        try:
            write_atomic(path, result.fixed)
        except WriteError as exc:
            result.diagnostics.append(tool_diagnostic("LL002", path, str(exc)))
            result.fixes_applied = 0
    return result


def _check_chunk(items: Sequence[Tuple[str, ModuleSummary]]) -> List[FileResult]:
    assert _PROJECT is not None and _JOB is not None
    return [check_one(path, summary, _PROJECT, _JOB) for path, summary in items]


def _chunks(items: list, jobs: int) -> List[list]:
    size = max(1, min(32, len(items) // (jobs * 8) or 1))
    return [items[i:i + size] for i in range(0, len(items), size)]


def _context():
    """Workers come from a fork server started before the run holds any summaries, with libcst and
    the rules preloaded: they start fast and carry no copy of the parent's memory (with plain
    ``fork``, every check worker's RSS included all the project's summaries)."""
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["libcst", "leaklint.registry", "leaklint.engine", "leaklint.rules",
                                        "leaklint._forkserver"])
        return context
    return multiprocessing.get_context("spawn")


def _pool(jobs: int, initializer=None, initargs=()) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=initializer, initargs=initargs)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def run(files: Sequence[str], settings: Settings, codes: Sequence[str], options: FixOptions, jobs: int,
        write: bool, roots: Sequence[str] = ()) -> RunResult:
    """``roots``: the folders named on the command line, which name modules of namespace packages."""
    out = RunResult()
    roots = tuple(os.path.abspath(r) for r in roots)
    parallel = jobs > 1 and len(files) >= SERIAL_BELOW
    if parallel:
        # the fork server (started here, while the parent is small) preloads libcst for every worker
        with _pool(jobs, tune_gc) as pool:
            chunks = _chunks(list(files), jobs)
            mapped = [r for chunk in pool.map(_summarise_chunk, chunks, [roots] * len(chunks)) for r in chunk]
    else:
        mapped = _summarise_chunk(files, roots)
    summaries = [s for _, s, _ in mapped if s is not None]
    project = ProjectFacts.build(summaries, resource_table(settings))
    job = Job(tuple(codes), tuple((g, tuple(c)) for g, c in settings.per_file_ignores.items()),
              settings.root, options, write)
    readable = [(p, s) for p, s, _ in mapped if s is not None]
    for path, _, error in mapped:
        if error is not None and error.startswith(INTERNAL):
            out.results.append(FileResult(path, error=f"{path}: {error}"))
        elif error is not None:
            out.results.append(FileResult(path, [tool_diagnostic("LL002", path, error)]))
    if parallel:
        # largest files first, so that the last chunks are small and the workers end together
        readable.sort(key=lambda item: _size(item[0]), reverse=True)
        with _pool(jobs, _init_worker, (pickle.dumps(project, pickle.HIGHEST_PROTOCOL), job)) as pool:
            for chunk in pool.map(_check_chunk, _chunks(readable, jobs)):
                out.results.extend(chunk)
    else:
        out.results.extend(check_one(p, s, project, job) for p, s in readable)
    out.results.sort(key=lambda r: r.path)
    return out
