"""The ``check`` command's flow: settings -> files -> run -> report -> exit code."""

from __future__ import annotations

import os
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional

import click

from leaklint import baseline as baseline_mod, registry
from leaklint.config import ConfigError, Settings
from leaklint.deployment_files import findings_for_run as deployment_findings
from leaklint.diagnostics import Diagnostic
from leaklint.discovery import discover
from leaklint.engine import FixOptions, SourceError, check_decodable, decode
from leaklint.reporting import render, statistics as stats
from leaklint.reporting.text import summary as summary_line
from leaklint.runner import Job, RunResult, check_one, default_jobs, resource_table, run, summarise_path
from leaklint.cache import Cache, resolve_dir
from leaklint.scope import project_files
from leaklint.semantics.project import ProjectFacts

EDIT_FORMATS = ("json", "json-lines", "sarif")


@dataclass
class CheckRequest:
    paths: List[str]
    settings: Settings
    select: List[str]
    extend_select: List[str]
    ignore: List[str]
    fix: bool = False
    unsafe: bool = False
    diff: bool = False
    output_format: str = "concise"
    output_file: Optional[str] = None
    statistics: bool = False
    exit_zero: bool = False
    exit_non_zero_on_fix: bool = False
    stdin_filename: Optional[str] = None
    exclude: Optional[List[str]] = None
    extend_exclude: Optional[List[str]] = None
    force_exclude: bool = False
    respect_gitignore: bool = True
    preview: bool = False
    show_files: bool = False
    jobs: Optional[int] = None
    quiet: bool = False
    no_cache: bool = False
    cache_dir: Optional[str] = None
    baseline: Optional[str] = None
    write_baseline: Optional[str] = None
    add_noqa: bool = False
    accepted: Optional[Counter] = None  # the loaded baseline


def enabled_codes(request: CheckRequest) -> List[str]:
    if request.preview:
        previews = [c for c, r in registry.all_rules().items() if r.preview]
        codes = registry.select(request.select, request.extend_select + previews if not request.select else
                                request.extend_select, request.ignore)
    else:
        codes = registry.select(request.select, request.extend_select, request.ignore)
    return [c for c in codes if c not in OPT_IN or _named(c, request)]


#: tool codes that run only when selected (``--extend-select LL005``), as ruff's RUF100
OPT_IN = frozenset({"LL005"})


def _named(code: str, request: CheckRequest) -> bool:
    """Selected by one of the user's selectors and ignored by none."""
    selected = any(code in registry.expand(s) for s in [*request.select, *request.extend_select])
    return selected and not any(code in registry.expand(s) for s in request.ignore)


def run_check(request: CheckRequest) -> int:
    codes = enabled_codes(request)
    if request.baseline and not request.write_baseline:
        try:
            request.accepted = baseline_mod.load(request.baseline)  # fail before linting a large tree
        except baseline_mod.BaselineError as exc:
            raise ConfigError(str(exc)) from None
    options = FixOptions(fix=request.fix and not request.diff, unsafe=request.unsafe,
                         want_edits=request.output_format in EDIT_FORMATS, want_diff=request.diff)
    if request.paths == ["-"]:
        return _check_stdin(request, codes, options)
    settings = request.settings
    excludes = (request.exclude if request.exclude is not None else settings.exclude) + \
        settings.extend_exclude + (request.extend_exclude or [])
    found = discover(request.paths, settings.root, excludes, request.respect_gitignore, request.force_exclude)
    for error in found.errors:
        click.echo(f"leaklint: error: {error}", err=True)
    if request.show_files:
        for path in sorted(found.files + found.deployment):
            click.echo(path)
        return 2 if found.errors else 0
    roots = [p for p in request.paths if os.path.isdir(p)]
    files, report = found.files, None
    scope = project_files(request.paths, found.files, settings, excludes, request.respect_gitignore)
    if scope is not None:  # named files: facts from the whole project, findings for these files only
        files, report = scope
        roots = [settings.root]
    cache = None
    if not request.no_cache and not os.environ.get("LEAKLINT_NO_CACHE"):  # like RUFF_NO_CACHE
        cache = Cache.open(resolve_dir(request.cache_dir or settings.cache_dir, settings.root))
    result = run(files, settings, codes, options, request.jobs or default_jobs(), write=options.fix,
                 roots=roots, cache=cache, report=report)
    if cache is not None and os.environ.get("LEAKLINT_CACHE_STATS"):
        counts = ", ".join(f"{kind} {cache.stats[(kind, 'hit')]} hit / {cache.stats[(kind, 'miss')]} miss"
                           for kind in ("summaries", "results"))
        click.echo(f"leaklint: cache: {counts}", err=True)
    result.results.extend(deployment_findings(found.deployment, found.files, settings, codes))  # LL602
    return _report(request, result, extra_error=bool(found.errors))


def _check_stdin(request: CheckRequest, codes: List[str], options: FixOptions) -> int:
    name = request.stdin_filename or "-"
    data = sys.stdin.buffer.read()
    try:
        check_decodable(data)
    except SourceError as exc:
        from leaklint.engine import FileResult, tool_diagnostic

        if options.fix:  # stdout is the file: hand it back untouched, report on stderr
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return _report(request, RunResult([FileResult(name, [tool_diagnostic("LL002", name, str(exc))])]),
                       to_stderr=options.fix)
    path, summary, error = summarise_path(name, data)
    if summary is None:  # leaklint failed on this input (see runner._internal)
        from leaklint.engine import FileResult

        result = FileResult(name, error=f"{name}: {error}")
    else:
        project = ProjectFacts.build([summary], resource_table(request.settings))
        job = Job(tuple(codes), tuple((g, tuple(c)) for g, c in request.settings.per_file_ignores.items()),
                  request.settings.root, options, write=False)
        result = check_one(name, summary, project, job, source=data)
    if options.fix:
        sys.stdout.buffer.write(result.fixed if result.fixed is not None else data)
        sys.stdout.flush()
        return _report(request, RunResult([result]), to_stderr=True)
    return _report(request, RunResult([result]), sources={name: decode(data).splitlines(True)})


def _report(request: CheckRequest, result: RunResult, extra_error: bool = False, to_stderr: bool = False,
            sources: Optional[Dict[str, List[str]]] = None) -> int:
    diagnostics: List[Diagnostic] = sorted((d for r in result.results for d in r.diagnostics),
                                           key=Diagnostic.sort_key)
    errors: List[str] = []
    for failed in result.results:
        if failed.error:
            click.echo(f"leaklint: error: {failed.error}", err=True)
            errors.append(failed.error)
            extra_error = True
    root = request.settings.root
    if request.write_baseline:
        try:
            count = baseline_mod.write(request.write_baseline, diagnostics, root)
        except baseline_mod.BaselineError as exc:
            raise ConfigError(str(exc)) from None
        click.echo(f"Wrote {count} finding(s) to the baseline {request.write_baseline}.", err=True)
        return 2 if extra_error else 0
    if request.accepted is not None:
        diagnostics = baseline_mod.new_findings(diagnostics, request.accepted, root)
    if request.add_noqa:
        from leaklint.add_noqa import add_noqa

        added, files = add_noqa(diagnostics)
        click.echo(f"Added {added} noqa directive(s) to {files} file(s).", err=True)
        return 2 if extra_error else 0
    fixed = sum(r.fixes_applied for r in result.results)
    changed = sum(1 for r in result.results if r.fixed is not None)
    out: List[str] = []
    if request.diff:
        diffs = [r.diff for r in result.results if r.diff]
        out.extend(diffs)
        if not request.quiet:
            message = f"Would fix {sum(1 for d in diagnostics if d.is_fixable(request.unsafe))} problem(s) in {len(diffs)} file(s)." \
                if diffs else "No fixes available."
            click.echo(message, err=True)
        _emit("".join(out), request.output_file, to_stderr)
        if extra_error:
            return 2
        return 1 if diffs and not request.exit_zero else 0
    if request.statistics:
        out.append(stats.render(diagnostics, request.unsafe, as_json=request.output_format in EDIT_FORMATS))
    else:
        if sources is None and request.output_format == "full":
            sources = _load_sources(diagnostics)
        if request.output_format == "sarif":
            from leaklint.reporting import sarif

            out.append(sarif.render(diagnostics, request.unsafe, sources or {}, root=root, errors=errors))
        else:
            out.append(render(request.output_format, diagnostics, request.unsafe, sources or {}))
    text = "".join(out)
    # the summary line would break machine-readable output (json statistics included)
    human = request.output_format in ("concise", "full") or (request.statistics and
                                                             request.output_format not in EDIT_FORMATS)
    if human and not request.quiet:
        line = summary_line(diagnostics, request.unsafe, fixed)
        text += ("\n" if diagnostics and request.output_format == "concise" and not request.statistics else "") + line + "\n"
        if not request.unsafe and not request.fix:
            pass
    _emit(text, request.output_file, to_stderr)
    if extra_error:  # a missing path is an error whatever else was found (the rest was still linted)
        return 2
    if request.exit_non_zero_on_fix and changed:
        return 1
    if diagnostics and not request.exit_zero:
        return 1
    return 0


def _load_sources(diagnostics: List[Diagnostic]) -> Dict[str, List[str]]:
    out: Dict[str, List[str]] = {}
    for d in diagnostics:
        if d.filename not in out:
            try:
                with open(d.filename, "rb") as handle:
                    out[d.filename] = decode(handle.read()).splitlines(True)
            except (OSError, SourceError, UnicodeDecodeError, SyntaxError):
                out[d.filename] = []
    return out


def _emit(text: str, output_file: Optional[str], to_stderr: bool) -> None:
    if output_file:
        directory = os.path.dirname(os.path.abspath(output_file))
        os.makedirs(directory, exist_ok=True)
        with open(output_file, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    if text:
        click.echo(text, nl=False, err=to_stderr)
