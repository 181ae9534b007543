"""The command line: ``leaklint [PATHS]`` (check), ``leaklint rule CODE``, ``probe``, ``report``.

Exit codes as in ruff: 0 nothing left to report, 1 findings remain (also after ``--fix``), 2 bad
config, bad option or internal error. Errors are one line; no traceback reaches the user unless
``LEAKLINT_DEBUG=1``.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional, Sequence

import click

from leaklint import __version__, registry
from leaklint.config import OUTPUT_FORMATS, ConfigError, Settings, find_config, load

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UserError(Exception):
    """Stops the run with exit 2 and one line."""


LAZY_COMMANDS = ("probe", "report")  # the runtime side: imported only when named (it costs ~1 s)


class _DefaultToCheck(click.Group):
    """``leaklint src/`` means ``leaklint check src/`` (ruff-style), unless a subcommand is named."""

    def parse_args(self, ctx, args):
        known = set(self.commands) | set(LAZY_COMMANDS)
        if not args or (args[0] not in known and args[0] not in ("--help", "-h", "--version")):
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def get_command(self, ctx, name):
        command = super().get_command(ctx, name)
        if command is None and name in LAZY_COMMANDS:
            try:
                from leaklint.runtime import commands
            except ImportError:
                return None
            return getattr(commands, f"{name}_command", None)
        return command

    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        try:
            from leaklint.runtime import commands

            names |= {n for n in LAZY_COMMANDS if hasattr(commands, f"{n}_command")}
        except ImportError:
            pass
        return sorted(names)


@click.group(cls=_DefaultToCheck, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="leaklint")
def cli() -> None:
    """Find memory and resource leaks in FastAPI / Starlette / SQLAlchemy / asyncio code."""


def _split(values: Sequence[str]) -> List[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def _selectors(values: Sequence[str], option: str) -> List[str]:
    out = _split(values)
    for value in out:
        try:
            registry.expand(value)
        except registry.UnknownSelector:
            raise UserError(f"invalid value for {option}: unknown rule selector {value!r}") from None
    return out


@cli.command("check")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (LL1, LL101, ALL); comma-separated.")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable on top of the selection.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes (and unsafe ones with --unsafe-fixes).")
@click.option("--unsafe-fixes/--no-unsafe-fixes", default=None, help="Also apply (or offer) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print the diff --fix would apply; write nothing.")
@click.option("--output-format", type=click.Choice(OUTPUT_FORMATS), default=None, help="Output format (default: concise).")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option("--statistics", is_flag=True, help="Show counts per rule instead of each finding.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when --fix changed any file.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="Read settings from this TOML file.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--stdin-filename", help="Name of the file read from stdin (for messages and per-file-ignores).")
@click.option("--exclude", multiple=True, help="Replace the exclude patterns (comma-separated globs).")
@click.option("--extend-exclude", multiple=True, help="Add exclude patterns.")
@click.option("--force-exclude", is_flag=True, default=None, help="Apply excludes to paths named on the command line too.")
@click.option("--respect-gitignore/--no-respect-gitignore", default=None, help="Skip files ignored by git (default: on).")
@click.option("--preview", is_flag=True, default=None, help="Enable preview rules.")
@click.option("--show-files", is_flag=True, help="List the files that would be linted, then stop.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: CPUs available).")
@click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary line.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache (.leaklint_cache/).")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Where the cache lives (default: .leaklint_cache "
              "at the project root).")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Report only findings not recorded in this baseline file.")
@click.option("--write-baseline", type=click.Path(dir_okay=False),
              help="Record today's findings in this baseline file, then exit 0.")
@click.option("--add-noqa", is_flag=True, help="Add a `# noqa: CODE` comment for every finding, then exit 0.")
def check(paths, select, extend_select, ignore, fix, unsafe_fixes, diff, output_format, output_file, statistics,
          exit_zero, exit_non_zero_on_fix, config_file, isolated, stdin_filename, exclude, extend_exclude,
          force_exclude, respect_gitignore, preview, show_files, jobs, quiet, no_cache, cache_dir, baseline_file,
          write_baseline, add_noqa) -> None:
    """Lint PATHS (default: the current directory). Use `-` to read one file from stdin."""
    from leaklint.checking import CheckRequest, run_check

    # ruff's rule: `--stdin-filename` without paths means the input is stdin, not the current folder
    paths = list(paths) or (["-"] if stdin_filename else ["."])
    settings = _settings(config_file, isolated, paths, stdin_filename)
    request = CheckRequest(
        paths=paths,
        settings=settings,
        select=_selectors(select, "--select") or settings.select,
        extend_select=settings.extend_select + _selectors(extend_select, "--extend-select"),
        ignore=settings.ignore + _selectors(ignore, "--ignore"),
        fix=fix,
        unsafe=settings.unsafe_fixes if unsafe_fixes is None else unsafe_fixes,
        diff=diff,
        output_format=output_format or settings.output_format,
        output_file=output_file,
        statistics=statistics,
        exit_zero=exit_zero,
        exit_non_zero_on_fix=exit_non_zero_on_fix,
        stdin_filename=stdin_filename,
        exclude=_split(exclude) if exclude else None,
        extend_exclude=_split(extend_exclude),
        force_exclude=settings.force_exclude if force_exclude is None else force_exclude,
        respect_gitignore=settings.respect_gitignore if respect_gitignore is None else respect_gitignore,
        preview=settings.preview if preview is None else preview,
        show_files=show_files,
        jobs=jobs,
        quiet=quiet,
        no_cache=no_cache,
        cache_dir=cache_dir,
        baseline=baseline_file or _relative_to_config(settings.baseline, settings),
        write_baseline=write_baseline,
        add_noqa=add_noqa,
    )
    if add_noqa and (fix or diff or write_baseline):
        raise UserError("--add-noqa cannot be combined with --fix, --diff or --write-baseline")
    raise SystemExit(run_check(request))


def _relative_to_config(path: Optional[str], settings: Settings) -> Optional[str]:
    """The ``baseline`` setting names a file relative to the configuration's folder."""
    return None if path is None else os.path.join(settings.root, path)


def _settings(config_file: Optional[str], isolated: bool, paths: List[str], stdin_filename: Optional[str]) -> Settings:
    if isolated:
        return Settings(root=os.getcwd())
    if config_file:
        return load(config_file)
    start = paths[0] if paths and paths[0] != "-" else (stdin_filename or ".")
    return load(find_config(start))  # a missing path or stdin name still says where to look from


@cli.command("rule")
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Document every rule.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text")
def rule_command(code: Optional[str], show_all: bool, output_format: str) -> None:
    """Show a rule's documentation (`leaklint rule LL101`), or all of them (`--all`)."""
    import json

    from leaklint import docs

    rules = registry.all_rules()
    if show_all or code is None:
        if output_format == "json":
            click.echo(docs.all_docs_json(), nl=False)
        elif show_all:
            click.echo("\n".join(docs.rule_doc(r) for r in rules.values()), nl=False)
        else:
            click.echo(docs.table(), nl=False)
        return
    key = code.strip().upper()
    if key not in rules:
        matches = [r for r in rules.values() if r.name == code.strip()]
        if not matches:
            raise UserError(f"unknown rule {code!r} (see `leaklint rule` for the list)")
        key = matches[0].code
    if output_format == "json":
        click.echo(json.dumps(docs.rule_record(rules[key]), indent=2))
    else:
        click.echo(docs.rule_doc(rules[key]), nl=False)


@cli.command("server")
@click.option("--stdio", is_flag=True, help="Speak LSP on stdin/stdout (the default and only transport).")
def server_command(stdio: bool) -> None:
    """Run the language server for editors (LSP over stdio; needs the `lsp` extra)."""
    try:
        from leaklint.lsp.handlers import main as serve
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs", "attrs"):
            raise
        raise UserError("`leaklint server` needs the lsp extra: pip install 'leaklint[lsp]'") from None
    serve()


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point: map every failure to a one-line message and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    from leaklint.runner import tune_gc

    tune_gc()
    try:
        cli.main(args=args, prog_name="leaklint", standalone_mode=False)
        code = EXIT_OK
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_ERROR)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        _error("aborted")
        code = EXIT_ERROR
    except click.ClickException as exc:
        _error(exc.format_message().replace("\n", " "))
        code = EXIT_ERROR
    except (UserError, ConfigError) as exc:
        _error(str(exc))
        code = EXIT_ERROR
    except BrokenPipeError:
        _quiet_broken_pipe()
        code = EXIT_OK
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # the promise: no traceback reaches the user
        if os.environ.get("LEAKLINT_DEBUG"):
            raise
        _error(f"internal error: {type(exc).__name__}: {exc} (set LEAKLINT_DEBUG=1 for a traceback)")
        code = EXIT_ERROR
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    sys.exit(code)


def _error(message: str) -> None:
    click.echo(f"leaklint: error: {message}", err=True)


def _quiet_broken_pipe() -> None:
    """``leaklint src/ | head -1``: stop quietly, and keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
