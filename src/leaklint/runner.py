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
from dataclasses import dataclass, field, replace
from typing import Callable, Collection, Dict, List, Optional, Sequence, Tuple

from leaklint import registry
from leaklint.cache import Cache, content_hash, summary_key
from leaklint.config import Settings
from leaklint.engine import FileResult, FixOptions, SourceError, lint_source, read_source, tool_diagnostic
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.resources import DEFAULT_TABLE, ResourceTable
from leaklint.semantics.summary import ModuleSummary, module_name_for, summarise
from leaklint.writer import WriteError, write_atomic

SERIAL_BELOW = 8  # a pool costs more than it saves on tiny inputs
#: (path, summary, error, content hash of what was summarised)
Mapped = Tuple[str, Optional[ModuleSummary], Optional[str], Optional[str]]
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


def _summarise_hashed(paths: Sequence[str], roots: Sequence[str] = ()) -> List[Mapped]:
    """Summaries with the content hash of the very bytes summarised (for the cache's key)."""
    out: List[Mapped] = []
    for path in paths:
        try:
            data = read_source(path)
        except SourceError as exc:
            out.append((path, None, str(exc), None))
            continue
        out.append(summarise_path(path, data, roots) + (content_hash(data),))
    return out


def resource_table(settings: Settings) -> ResourceTable:
    """The built-in resource kinds plus the ones ``[tool.leaklint.resources]`` declares."""
    return DEFAULT_TABLE.with_user_kinds(settings.resources) if settings.resources else DEFAULT_TABLE


# -- check -------------------------------------------------------------------------------------

_PROJECT: Optional[ProjectFacts] = None
_JOB: Optional[Job] = None


def _init_worker(project: bytes, job: Job) -> None:
    """``project``: the pickled project facts (pickled once by the parent, not once per worker)."""
    global _PROJECT, _JOB
    tune_gc()  # first: unpickling the facts with the default thresholds collects again and again (4x slower)
    _PROJECT, _JOB = pickle.loads(project), job
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
        result = lint_source(path, data, summary, project, registry.classes(codes), job.options,
                             unused_noqa="LL005" in codes)
    except Exception as exc:  # a bug on one file must not end the run for the others
        return FileResult(path, error=f"{path}: {_internal(exc)}")
    result.content_hash = content_hash(data)
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


def _chunks(items: list, jobs: int, sizes: Sequence[int]) -> List[list]:
    """Chunks of about equal bytes, the largest files first (``items`` sorted that way): a big file
    goes alone, so no worker is left with a chunk of the largest files while the others idle."""
    budget = max(1, sum(sizes) // (jobs * 8))
    chunks: List[list] = []
    current: list = []
    held = 0
    for item, size in zip(items, sizes):
        current.append(item)
        held += size
        if held >= budget or len(current) >= 32:
            chunks.append(current)
            current, held = [], 0
    if current:
        chunks.append(current)
    return chunks


def _largest_first(items: list, path_of: Callable[[object], str]) -> Tuple[list, List[int]]:
    sized = sorted(((_size(path_of(item)), item) for item in items), key=lambda pair: pair[0], reverse=True)
    return [item for _, item in sized], [size for size, _ in sized]


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
        write: bool, roots: Sequence[str] = (), cache: Optional[Cache] = None,
        report: Optional[Collection[str]] = None) -> RunResult:
    """``roots``: the folders named on the command line, which name modules of namespace packages.
    ``cache``: summaries and per-file results are read from and written to it. ``report``: the
    files to check (the others only contribute project facts); None = all of ``files``."""
    out = RunResult()
    roots = tuple(os.path.abspath(r) for r in roots)
    mapped, summary_keys = _map(files, roots, jobs, cache)
    summaries = [s for _, s, _, _ in mapped if s is not None]
    project, depends = _facts(summaries, summary_keys, settings, cache)
    job = Job(tuple(codes), tuple((g, tuple(c)) for g, c in settings.per_file_ignores.items()),
              settings.root, options, write)
    wanted = None if report is None else {os.path.normpath(p) for p in report}
    readable = [(p, s) for p, s, _, _ in mapped if s is not None and (wanted is None or p in wanted)]
    for path, _, error, _ in mapped:
        if wanted is not None and path not in wanted:
            continue
        if error is not None and error.startswith(INTERNAL):
            out.results.append(FileResult(path, error=f"{path}: {error}"))
        elif error is not None:
            out.results.append(FileResult(path, [tool_diagnostic("LL002", path, error)]))
    keys: Dict[str, str] = {}
    if cache is not None and not (write or options.fix or options.want_diff):
        keys = _result_keys(project, summaries, {p: h for p, _, _, h in mapped if h is not None}, job, settings,
                            depends)
        todo = []
        for path, summary in readable:
            hit = cache.get("results", keys[path]) if path in keys else None
            if isinstance(hit, FileResult):
                out.results.append(_renamed(hit, path))
            else:
                todo.append((path, summary))
        readable = todo
    checked: List[FileResult] = []
    if jobs > 1 and len(readable) >= SERIAL_BELOW:
        # largest files first, so that the last chunks are small and the workers end together
        readable, sizes = _largest_first(readable, lambda item: item[0])
        with _pool(jobs, _init_worker, (pickle.dumps(project, pickle.HIGHEST_PROTOCOL), job)) as pool:
            for chunk in pool.map(_check_chunk, _chunks(readable, jobs, sizes)):
                checked.extend(chunk)
    else:
        checked.extend(check_one(p, s, project, job) for p, s in readable)
    if keys:
        hashes = {p: h for p, _, _, h in mapped}
        for result in checked:
            # only a result of the very bytes the key was made from (the file may have changed since)
            if result.error is None and result.content_hash == hashes.get(result.path) and result.path in keys:
                cache.put("results", keys[result.path], result)  # type: ignore[union-attr]
    out.results.extend(checked)
    out.results.sort(key=lambda r: r.path)
    return out


def _renamed(result: FileResult, path: str) -> FileResult:
    """A cached result under the name this run gives the file (the key is its absolute path;
    another run may have named it from another folder)."""
    if result.path != path:
        result.path = path
        result.diagnostics = [replace(d, filename=path) for d in result.diagnostics]
    return result


def _facts(summaries: List[ModuleSummary], summary_keys: Dict[str, str], settings: Settings,
           cache: Optional[Cache]) -> Tuple[ProjectFacts, Optional[Dict[str, str]]]:
    """The project facts (and, with a cache, each file's dependency digest), read whole from the
    cache when every summary is the same as last time: the reduce step is most of a warm run."""
    table = resource_table(settings)
    if cache is None or len(summary_keys) != len(summaries):
        return ProjectFacts.build(summaries, table), None
    from leaklint.cache import build_id, digest
    from leaklint.dependency_keys import config_key, dependency_keys

    key = digest("facts", build_id(), config_key((), None, settings.resources),
                 *sorted(f"{path}\0{k}" for path, k in summary_keys.items()))
    hit = cache.get("facts", key)
    if isinstance(hit, tuple) and len(hit) == 2 and isinstance(hit[0], ProjectFacts):
        return hit[0], hit[1]
    project = ProjectFacts.build(summaries, table)
    hashes = {path: k for path, k in summary_keys.items()}
    depends = dependency_keys(project, summaries, hashes)
    cache.put("facts", key, (project, depends))
    return project, depends


def _map(files: Sequence[str], roots: Tuple[str, ...], jobs: int, cache: Optional[Cache]
         ) -> Tuple[List[Mapped], Dict[str, str]]:
    """Every file's summary: from the cache when its bytes, module name and leaklint are the same.
    Also each summarised file's summary key (with a cache)."""
    mapped: List[Mapped] = []
    todo: List[str] = list(files)
    summary_keys: Dict[str, str] = {}
    if cache is not None:
        todo = []
        for path in files:
            try:
                data = read_source(path)
            except SourceError:
                todo.append(path)  # summarising reports it
                continue
            digest = content_hash(data)
            key = summary_keys[path] = summary_key(digest, path, module_name_for(path, roots))
            summary = cache.get("summaries", key)
            if isinstance(summary, ModuleSummary):
                summary.path = path  # the same file named from another folder
                mapped.append((path, summary, None, digest))
            else:
                todo.append(path)
    if jobs > 1 and len(todo) >= SERIAL_BELOW:
        # the fork server (started here, while the parent is small) preloads libcst for every worker
        with _pool(jobs, tune_gc) as pool:
            todo, sizes = _largest_first(todo, lambda path: path)
            chunks = _chunks(todo, jobs, sizes)
            fresh = [r for chunk in pool.map(_summarise_hashed, chunks, [roots] * len(chunks)) for r in chunk]
    else:
        fresh = _summarise_hashed(todo, roots)
    if cache is not None:
        for path, summary, _, digest in fresh:
            if summary is not None and digest is not None:
                # keyed by the bytes the worker summarised, which may differ from what was hashed above
                key = summary_keys[path] = summary_key(digest, path, module_name_for(path, roots))
                cache.put("summaries", key, summary)
    mapped.extend(fresh)
    order = {p: i for i, p in enumerate(files)}
    mapped.sort(key=lambda m: order[m[0]])
    summarised = {p for p, s, _, _ in mapped if s is not None}
    return mapped, {p: k for p, k in summary_keys.items() if p in summarised}


def _result_keys(project: ProjectFacts, summaries: List[ModuleSummary], hashes: Dict[str, str], job: Job,
                 settings: Settings, depends: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    from leaklint.cache import build_id, digest
    from leaklint.dependency_keys import config_key, dependency_keys

    if depends is None:
        depends = dependency_keys(project, summaries, hashes)
    configs: Dict[Tuple[str, ...], str] = {}
    keys: Dict[str, str] = {}
    for path, depend in depends.items():
        if path not in hashes:
            continue
        codes = tuple(codes_for(path, job))
        if codes not in configs:
            configs[codes] = config_key(codes, job.options, settings.resources)
        keys[path] = digest("result", build_id(), hashes[path], os.path.abspath(path), configs[codes], depend)
    return keys
