"""Deployment files next to the Python code: where the server's command line really lives (LL602).

Discovery asks ``is_deployment_file`` for every file it walks (so excludes, ``.gitignore`` and
``--force-exclude`` apply to these as to ``.py`` files); the run hands the ones it found to
``check``, which reports LL602 findings on their lines. These files are never parsed as Python and
never written: their findings carry no fix, so ``--fix`` leaves them alone.

``# noqa: LL602`` works as a comment on the finding's line (or any line of the same command) and,
for a Dockerfile, whose comments must be lines of their own, on the line just above the
instruction; ``# leaklint: noqa`` on a line of its own silences the whole file.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, List, Optional, Sequence

from leaklint.diagnostics import Diagnostic, Location
from leaklint.suppression import FILE_NOQA, NOQA, NoqaIndex, parse_codes

CODE = "LL602"
MAX_BYTES = 512 * 1024  # a deployment file is small; anything larger is data
#: path parts that mark a development, test or example setup, not how production runs
NOT_PRODUCTION = frozenset({"dev", "develop", "development", "test", "tests", "testing", "local", "debug", "e2e",
                            "ci", "example", "examples", "sample", "samples", ".github", ".gitlab", ".circleci"})
GUNICORN_CMD_ARGS = re.compile(r"GUNICORN_CMD_ARGS\b[\"']?\s*(?P<sep>[=:]|\s)?\s*(?P<value>.*)$")


def kind_of(path: str) -> Optional[str]:
    """``dockerfile`` / ``procfile`` / ``yaml`` / ``shell`` / ``supervisord`` (``supervisord.conf``, a
    ``.conf`` in a ``supervisor/`` or ``supervisor/conf.d/`` folder), or None for other files."""
    name = os.path.basename(path)
    lower = name.lower()
    if lower in ("dockerfile", "containerfile") or lower.startswith(("dockerfile.", "containerfile.")) or \
            lower.endswith((".dockerfile", ".containerfile")):
        return "dockerfile"
    if name == "Procfile" or name.startswith("Procfile."):
        return "procfile"
    if lower.endswith((".yml", ".yaml")):
        return "yaml"
    if lower.endswith(".sh"):
        return "shell"
    folder = os.path.dirname(path)
    parent = os.path.basename(folder).lower()
    if parent == "conf.d":  # ``/etc/supervisor/conf.d/api.conf``
        parent = os.path.basename(os.path.dirname(folder)).lower()
    if lower.endswith((".conf", ".ini")) and (lower.startswith("supervisor") or parent.startswith("supervisor")):
        return "supervisord"
    return None


def is_deployment_file(path: str) -> bool:
    """A Dockerfile, Procfile, YAML file (compose/Kubernetes, judged by content), supervisord
    configuration or shell script."""
    return kind_of(path) is not None


def is_production_path(path: str, root: str) -> bool:
    """``Dockerfile.dev``, ``docker-compose.test.yml``, ``scripts/ci/run.sh``, ``examples/``: not production."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root)).replace(os.sep, "/")
    if rel.startswith("../"):
        rel = os.path.abspath(path).replace(os.sep, "/")
    parts = {p for piece in rel.lower().split("/") for p in re.split(r"[._-]", piece)} | set(rel.lower().split("/"))
    return not parts & NOT_PRODUCTION


#: a front-end development server started beside the API: the script is a local run recipe
DEV_SERVER = re.compile(r"^[^#\n]*\b(?:(?:npm|pnpm|yarn|bun)\s+(?:run\s+)?dev|next\s+dev|ng\s+serve|vite\s+(?:dev|serve))\b",
                        re.MULTILINE)


def starts_dev_server(path: str, text: str) -> bool:
    """A shell script with ``cd gui && npm run dev &`` beside ``uvicorn main:app``: a launcher for
    development, not what production runs (it would serve a bundle, not a dev server). Only shell
    scripts: a Dockerfile or compose file that builds the front end (``npx vite build``) is judged."""
    return kind_of(path) == "shell" and bool(DEV_SERVER.search(text))


def _read(path: str) -> Optional[str]:
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        with open(path, "rb") as handle:
            data = handle.read()
        return data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def noqa_index(text: str, kind: str) -> NoqaIndex:
    """``#`` comments of a shell-like file (a ``#`` that starts a word), without tokenizing Python."""
    index = NoqaIndex()
    if "noqa" not in text.lower():
        return index
    for row, line in enumerate(text.splitlines(), start=1):
        for found in re.finditer(r"(?:^|(?<=\s))[#;]" if kind == "supervisord" else r"(?:^|(?<=\s))#", line):
            comment = "#" + line[found.start() + 1:]  # supervisord's ``;`` comments read as ``#``
            file_match = FILE_NOQA.match(comment)
            if file_match and not line[:found.start()].strip():
                index.file = index.file | parse_codes(file_match.group("codes"))
                break
            match = NOQA.match(comment)
            if match:
                index.lines[row] = index.lines.get(row, frozenset()) | parse_codes(match.group("codes"))
                break
    return index


def _env_values(text: str) -> Iterable[Optional[str]]:
    """Values given to ``GUNICORN_CMD_ARGS`` in a file (None: not a literal we can read)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = GUNICORN_CMD_ARGS.search(line)
        if match is None:
            continue
        value, literal = match.group("value").strip(), bool(match.group("sep"))
        if not value and i + 1 < len(lines) and "value:" in lines[i + 1]:  # Kubernetes ``- name: ...``
            value, literal = lines[i + 1].split("value:", 1)[1].strip(), True
        yield value if value and literal else None


def check(paths: Sequence[str], python_files: Sequence[str], root: str,
          codes_for=lambda path: [CODE]) -> list:
    """``FileResult`` per deployment file with LL602 findings. ``codes_for(path)``: the codes in
    force for a file (selection and per-file ignores)."""
    from leaklint.engine import FileResult
    from leaklint.registry import rule_by_code
    from leaklint.semantics.command_lines import command_sites
    from leaklint.semantics.compose_builds import dev_only_dockerfiles
    from leaklint.rules.server.ll602_server_commands import (Project, env_may_supply, judge, parse_options,
                                                             server_command)
    from leaklint.semantics.state import GUNICORN_CONFIG_FILE

    texts = {}
    for path in paths:
        text = _read(path)
        if text is not None and kind_of(path) is not None:
            texts[path] = text
    project = Project(python_files=python_files)
    commands = {}
    for path, text in texts.items():
        sites = [(site, server_command(site.words)) for site in command_sites(kind_of(path) or "", text)]
        commands[path] = [(site, command) for site, command in sites if command is not None]
        if any(command.server == "gunicorn" and not project.serves_missing_module(parse_options(command.args))
               for _, command in commands[path]):
            project.gunicorn_elsewhere = True
        if "GUNICORN_CMD_ARGS" in text and any(env_may_supply(v) for v in _env_values(text)):
            project.env_may_supply = True
    if any(GUNICORN_CONFIG_FILE.match(os.path.basename(p)) for p in python_files):
        project.gunicorn_elsewhere = True
    dev_only = dev_only_dockerfiles({p: t for p, t in texts.items() if kind_of(p) == "yaml"})
    name = rule_by_code(CODE).name
    results = []
    for path in sorted(commands):
        if CODE not in codes_for(path) or not is_production_path(path, root) or \
                os.path.normpath(os.path.abspath(path)) in dev_only or starts_dev_server(path, texts[path]):
            continue
        noqa = noqa_index(texts[path], kind_of(path) or "")
        diagnostics: List[Diagnostic] = []
        for site, command in commands[path]:
            message = judge(command, project)
            word = command.word
            if message is None or noqa.suppressed(CODE, word.row, *site.rows):
                continue
            start = Location(word.row, word.column)
            end = Location(word.row, word.column + len(word.text) + (2 if word.quoted else 0))
            diagnostics.append(Diagnostic(CODE, name, message, path, start, end, word.row, None,
                                          tuple(r for r in site.rows if r != word.row)))
        if diagnostics:
            results.append(FileResult(path, diagnostics))
    return results


def findings_for_run(deployment: Sequence[str], python_files: Sequence[str], settings, codes: Sequence[str]) -> list:
    """The run's hook: LL602 on the deployment files discovery found (nothing when LL602 is off)."""
    if CODE not in codes or not deployment:
        return []
    from leaklint.engine import FixOptions
    from leaklint.runner import Job, codes_for

    job = Job(tuple(codes), tuple((g, tuple(c)) for g, c in settings.per_file_ignores.items()), settings.root,
              FixOptions(), False)
    return check(deployment, python_files, settings.root, lambda path: codes_for(path, job))


def add_noqa(filename: str, diagnostics: Sequence[Diagnostic]) -> int:
    """``--add-noqa`` for a deployment file, where the comment must not change the command: above
    a Dockerfile instruction (a trailing ``#`` would turn exec form into shell form), on the key's
    line in YAML (inside a block scalar it would become part of the command), on the last line of
    a continued shell command (after a ``\\`` it would end the continuation)."""
    from leaklint.semantics.command_lines import command_sites
    from leaklint.writer import WriteError, write_atomic

    kind, text = kind_of(filename), _read(filename)
    if kind is None or text is None:
        return 0
    lines = text.splitlines(keepends=True)
    sites = command_sites(kind, text)
    noqa = noqa_index(text, kind)
    trailing, above = set(), set()
    for d in diagnostics:
        if d.code != CODE or noqa.suppressed(CODE, d.noqa_row, *d.noqa_rows):
            continue
        site = next((s for s in sites if any(w.row == d.start.row and w.column == d.start.column for w in s.words)),
                    None)
        rows = sorted(site.rows) if site is not None else [d.start.row]
        if kind == "dockerfile":
            above.add(next((r for r in rows if not lines[r - 1].lstrip().startswith("#")), rows[0]))
        elif kind == "yaml":
            trailing.add(rows[0])
        else:
            trailing.add(next((r for r in reversed(rows) if not lines[r - 1].rstrip().endswith("\\")), rows[-1]))
    for row in trailing:
        body = lines[row - 1].rstrip("\r\n")
        lines[row - 1] = body + "  # noqa: LL602" + lines[row - 1][len(body):]
    for row in sorted(above, reverse=True):
        line = lines[row - 1]
        indent = line[:len(line) - len(line.lstrip())]
        newline = "\r\n" if line.endswith("\r\n") else "\n"
        lines.insert(row - 1, f"{indent}# noqa: LL602{newline}")
    added = len(trailing) + len(above)
    if added:
        try:
            write_atomic(filename, "".join(lines).encode("utf-8"))
        except WriteError:
            return 0
    return added
