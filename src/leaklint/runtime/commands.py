"""``leaklint probe`` and ``leaklint report``: click commands the main CLI registers lazily.

Exit codes for CI: probe exits 1 when an endpoint leaks, 0 when none does and
2 when it cannot run (bad app path, bad requests file, app fails to start) -
always with a one-line error, never a traceback.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from typing import Any

import click


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def load_app(target: str, app_dir: str | None = ".") -> Any:
    """'package.module:attr' (attr may be dotted or a factory call 'create_app()')."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise click.UsageError(f"app must look like MODULE:APP, got {target!r}")
    if app_dir is not None:
        path = os.path.abspath(app_dir)
        if path not in sys.path:
            sys.path.insert(0, path)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # anything raised while importing the user's module
        raise click.UsageError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    call = attr.endswith("()")
    for part in attr.rstrip("()").split("."):
        if not hasattr(obj, part):
            raise click.UsageError(f"module {module_name!r} has no attribute {attr.rstrip('()')!r}")
        obj = getattr(obj, part)
    if call:
        try:
            obj = obj()
        except Exception as exc:
            raise click.UsageError(f"{attr} failed: {type(exc).__name__}: {exc}") from None
    if not callable(obj):
        raise click.UsageError(f"{target} is not an ASGI app")
    return obj


@click.command("probe")
@click.argument("app_path", metavar="MODULE:APP")
@click.option("--endpoint", "endpoint", multiple=True, metavar='"METHOD /path"', help='Probe only this endpoint, e.g. "GET /items" (repeatable).')
@click.option("--requests", "n_requests", type=click.IntRange(min=2), default=200, show_default=True, help="Measured requests per endpoint.")
@click.option("--warmup", type=click.IntRange(min=0), default=30, show_default=True, help="Unmeasured requests first.")
@click.option("--requests-file", type=click.Path(dir_okay=False), help="TOML/JSON describing requests for endpoints with parameters.")
@click.option("--threshold", "threshold_bytes", type=float, default=256.0, show_default=True, help="Bytes retained per request that count as a leak.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.8, show_default=True, help="Minimum r² of the growth.")
@click.option("--error-paths", is_flag=True, help="Also drive every endpoint with its handler raising after it ran.")
@click.option("--resources", "resources", default="all", show_default=True, metavar="NAMES", help="Counters to read: all, none, or a comma list of tasks,fds,threads,pool_checkouts,rss_bytes.")
@click.option("--resource-threshold", "resource_thresholds", multiple=True, metavar="NAME=PER_REQUEST", help="Growth per request that counts as a leak, e.g. fds=0.5 (repeatable).")
@click.option("--pool-timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True, help="Seconds a checkout may wait on an exhausted pool before the endpoint is stopped.")
@click.option("--app-dir", default=".", show_default=True, help="Directory put on sys.path before importing the app.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the result here instead of stdout.")
def probe_command(
    app_path: str,
    endpoint: tuple[str, ...],
    n_requests: int,
    warmup: int,
    requests_file: str | None,
    threshold_bytes: float,
    min_confidence: float,
    error_paths: bool,
    resources: str,
    resource_thresholds: tuple[str, ...],
    pool_timeout: float,
    app_dir: str,
    output_format: str,
    output_file: str | None,
) -> None:
    """Drive each endpoint of MODULE:APP alone and report the memory and resources it retains per request."""
    from .prober import ProbeError, format_table, probe

    names = _resource_option(resources)
    thresholds = _threshold_option(resource_thresholds)
    try:
        app = load_app(app_path, app_dir)
        report = probe(
            app,
            endpoint=list(endpoint) or None,
            requests=n_requests,
            warmup=warmup,
            requests_file=requests_file,
            threshold_bytes=threshold_bytes,
            min_confidence=min_confidence,
            error_paths=error_paths,
            resources=names,
            resource_thresholds=thresholds,
            pool_timeout=pool_timeout,
        )
    except click.UsageError as exc:
        _fail(exc.message)
    except ProbeError as exc:
        _fail(str(exc))
    except Exception as exc:  # the app blew up in a way we did not foresee: still one line
        _fail(f"probe failed: {type(exc).__name__}: {exc}")
    if output_format == "json":
        text = json.dumps(report.to_json_obj(), indent=2, default=str)
    else:
        text = format_table(report)
    _emit(text, output_file)
    sys.exit(1 if report.leaking else 0)


def _resource_option(value: str) -> Any:
    from .resources import RESOURCE_NAMES

    text = value.strip().lower()
    if text == "all":
        return True
    if text == "none":
        return False
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in RESOURCE_NAMES]
    if unknown or not names:
        _fail(f"--resources: unknown counter {unknown[0] if unknown else value!r} (all, none, or {','.join(RESOURCE_NAMES)})")
    return names


def _threshold_option(values: tuple[str, ...]) -> dict[str, float]:
    from .resources import RESOURCE_NAMES

    out = {}
    for item in values:
        name, sep, number = item.partition("=")
        try:
            if not sep or name.strip() not in RESOURCE_NAMES:
                raise ValueError
            out[name.strip()] = float(number)
        except ValueError:
            _fail(f"--resource-threshold must look like NAME=NUMBER with NAME one of {','.join(RESOURCE_NAMES)}, got {item!r}")
    return out


@click.command("report")
@click.argument("source", metavar="LOG_OR_PROBE_JSON", type=click.Path(dir_okay=False))
@click.option("--html", "html_out", type=click.Path(dir_okay=False), help="Also write a self-contained HTML report.")
@click.option("--static", "static_paths", multiple=True, metavar="PATH", help="Join with leaklint findings in these paths (repeatable).")
@click.argument("more_static", nargs=-1, type=click.Path(), required=False)
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def report_command(
    source: str, html_out: str | None, static_paths: tuple[str, ...], more_static: tuple[str, ...], output_format: str
) -> None:
    """Per-endpoint growth from a watch log or probe JSON, joined with static findings.

    ``--static src/ tests/`` lists paths to lint; each endpoint then shows the
    findings in its handler, its dependencies and the functions it calls.
    """
    from .report import ReportInputError, format_text, load

    paths = list(static_paths) + list(more_static)
    if more_static and not static_paths:
        _fail("extra paths given without --static")
    try:
        rep = load(source)
    except ReportInputError as exc:
        _fail(str(exc))
    if paths:
        missing = [p for p in paths if not os.path.exists(p)]
        if missing:
            _fail(f"no such path: {missing[0]}")
        try:
            from .join import static_findings

            findings = static_findings(paths)
        except ImportError:
            _fail("static findings need leaklint's engine (leaklint.api), which is not installed")
        except Exception as exc:
            _fail(f"static check failed: {type(exc).__name__}: {exc}")
        rep.static_paths = paths
        rep.join(findings)
    if output_format == "json":
        click.echo(
            json.dumps(
                {"kind": rep.kind, "source": rep.source, "endpoints": rep.endpoints, "summary": rep.summary, "notes": rep.notes,
                 "resource_trends": rep.resource_trends},
                indent=2,
                default=str,
            )
        )
    else:
        click.echo(format_text(rep))
    if html_out:
        from .html_report import render

        try:
            with open(html_out, "w", encoding="utf-8") as fh:
                fh.write(render(rep))
        except OSError as exc:
            _fail(f"cannot write {html_out}: {exc.strerror or exc}")
        click.echo(f"wrote {html_out}", err=True)


def _emit(text: str, output_file: str | None) -> None:
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as exc:
            _fail(f"cannot write {output_file}: {exc.strerror or exc}")
    else:
        click.echo(text)
