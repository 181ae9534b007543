"""LL602 on command lines: does a ``gunicorn`` (or a lone ``uvicorn``) command recycle its workers?

A command is judged only when everything that could set the flag is visible: a word that expands
(``$GUNICORN_OPTS``, ``"$@"``) where arguments go, a ``-c`` config leaklint cannot read, or a
``GUNICORN_CMD_ARGS`` that may carry it, make the command "unknown", and unknown is clean.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from leaklint.semantics.shell_words import Word
from leaklint.semantics.state import GUNICORN_SETTINGS

SERVERS = ("gunicorn", "uvicorn")
#: words that run the next word as the command
WRAPPERS = frozenset({"exec", "nohup", "env", "time", "command", "then", "do", "else", "!", "{", "sudo", "tini",
                      "dumb-init", "--", "ddtrace-run", "opentelemetry-instrument", "newrelic-admin",
                      "run-program", "doppler", "infisical", "chamber"})
WITH_ONE_ARGUMENT = frozenset({"gosu", "su-exec", "setpriv"})
RUNNERS = frozenset({"poetry", "uv", "pipenv", "pdm", "hatch", "rye", "conda", "micromamba"})
#: options of those runners that take a value (``conda run -n env uvicorn ...``)
RUNNER_VALUE_OPTIONS = frozenset({"-n", "--name", "-p", "--prefix", "--env-file", "--python", "--with", "--project",
                                  "--directory", "--group", "--extra", "-e", "--env"})
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
#: gunicorn and uvicorn options that take no value (every other option takes one)
BOOLEAN_OPTIONS = frozenset({
    "--preload", "--reload", "-D", "--daemon", "--spew", "--capture-output", "--enable-stdio-inheritance",
    "--reuse-port", "--no-sendfile", "-R", "--strip-header-spaces", "--proxy-protocol", "--check-config",
    "--print-config", "--suppress-ragged-eofs", "--do-handshake-on-connect", "--disable-redirect-access-to-syslog",
    "--use-colors", "--no-use-colors", "--proxy-headers", "--no-proxy-headers", "--access-log", "--no-access-log",
    "--server-header", "--no-server-header", "--date-header", "--no-date-header", "--factory",
    "-h", "--help", "-v", "--version",
})
NOT_SERVING = frozenset({"--check-config", "--print-config", "-h", "--help", "-v", "--version"})
GUNICORN_FLAGS = (("--max-requests", "max_requests"), ("--max-requests-jitter", "max_requests_jitter"))


@dataclass(frozen=True)
class ServerCommand:
    server: str  # "gunicorn" | "uvicorn"
    word: Word  # the server's name, where findings point
    args: Tuple[Word, ...]
    env: Tuple[Word, ...]  # ``VAR=value`` words before it


def server_command(words: Sequence[Word]) -> Optional[ServerCommand]:
    """The gunicorn/uvicorn command ``words`` run, looking through wrappers (``exec``, ``poetry run``,
    ``python -m``, ``gosu app``, an entrypoint script); None when the command is something else."""
    env: List[Word] = []
    i = 0
    while i < len(words):
        word = words[i]
        text = word.text
        base = text.rsplit("/", 1)[-1]
        if ASSIGNMENT.match(text):
            env.append(word)
        elif base in SERVERS and not word.expands:
            return ServerCommand(base, word, tuple(words[i + 1:]), tuple(env))
        elif text in RUNNER_VALUE_OPTIONS and i > 0 and any(w.text in RUNNERS for w in words[:i]):
            i += 1
        elif base in WRAPPERS or (text.startswith("-") and i > 0):
            pass
        elif base in WITH_ONE_ARGUMENT:
            i += 1
        elif base in RUNNERS and i + 1 < len(words) and words[i + 1].text in ("run", "exec"):
            i += 1
        elif re.match(r"^python[0-9.]*$", base):
            j = i + 1
            while j < len(words) and words[j].text.startswith("-") and words[j].text != "-m":
                j += 1
            if j + 1 < len(words) and words[j].text == "-m" and words[j + 1].text in SERVERS:
                return ServerCommand(words[j + 1].text, words[j + 1], tuple(words[j + 2:]), tuple(env))
            return None
        elif i == 0 and (base.endswith(".sh") or "entrypoint" in base):
            pass  # ``ENTRYPOINT ["/docker-entrypoint.sh"]`` + ``CMD ["gunicorn", ...]``: it execs "$@"
        else:
            return None
        i += 1
    return None


@dataclass
class Options:
    values: Dict[str, Optional[Word]] = field(default_factory=dict)  # option -> its value word
    unknown: bool = False  # an expansion where arguments go: cannot tell what is set
    positionals: List[Word] = field(default_factory=list)  # the application (``app.main:app``)


def parse_options(args: Sequence[Word]) -> Options:
    out = Options()
    i = 0
    while i < len(args):
        word = args[i]
        text = word.text
        if text.startswith("-") and len(text) > 1:
            name, equals, value = text.partition("=")
            if equals:
                out.values[name] = Word(value, word.row, word.column, word.expands, word.quoted)
            elif name in BOOLEAN_OPTIONS:
                out.values[name] = None
            elif len(name) > 2 and name[1] != "-" and name[:2] == "-c":
                out.values["-c"] = Word(name[2:], word.row, word.column, word.expands, word.quoted)
            else:
                out.values[name] = args[i + 1] if i + 1 < len(args) else None
                i += 1
        elif word.expands:
            out.unknown = True  # ``$GUNICORN_OPTS``, ``"$@"``: may hold any option
        else:
            out.positionals.append(word)
        i += 1
    return out


def _set(options: Options, *names: str) -> Optional[bool]:
    """True: set to a number other than 0 (or a variable); False: absent or 0."""
    for name in names:
        if name in options.values:
            value = options.values[name]
            return value is None or value.expands or value.text.strip() not in ("0", "")
    return False


@dataclass
class Project:
    """What every command of the project is judged against."""

    env_may_supply: bool = False  # some GUNICORN_CMD_ARGS may carry --max-requests
    python_files: Sequence[str] = ()
    gunicorn_elsewhere: bool = False  # gunicorn runs somewhere: a lone uvicorn is a dev server
    _config_names: Dict[str, Optional[Set[str]]] = field(default_factory=dict)

    def serves_missing_module(self, options: Options) -> bool:
        """The command serves ``pkg.module:app`` and no linted Python file is that module: a stale
        deployment file (its application was moved or removed), which nobody deploys."""
        target = next((w for w in options.positionals if ":" in w.text and not w.expands), None)
        if target is None or not self.python_files:
            return False
        module = target.text.partition(":")[0].strip("'\"")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.]*$", module):
            return False
        path = module.replace(".", "/")
        suffixes = (f"/{path}.py", f"/{path}/__init__.py")
        return not any(("/" + p.replace(os.sep, "/")).endswith(suffixes) for p in self.python_files)

    @property
    def default_config(self) -> bool:
        """gunicorn reads ``./gunicorn.conf.py`` when no ``-c`` is given: it is judged in its own file."""
        return any(os.path.basename(p) == "gunicorn.conf.py" for p in self.python_files)

    def config(self, reference: str) -> Optional[Set[str]]:
        """The names a ``-c`` config sets, or None when it is not among the linted files."""
        ref = reference[len("file:"):] if reference.startswith("file:") else reference
        if ref.startswith("python:"):
            ref = ref[len("python:"):].replace(".", "/") + ".py"
        suffix = ref.lstrip("./").replace("\\", "/")
        candidates = [p for p in self.python_files if p.replace(os.sep, "/").endswith("/" + suffix) or p == suffix]
        if not candidates:
            base = os.path.basename(suffix)
            candidates = [p for p in self.python_files if os.path.basename(p) == base]
        if len(candidates) != 1:
            return None
        path = candidates[0]
        if path not in self._config_names:
            self._config_names[path] = _assigned_names(path)
        return self._config_names[path]


def _assigned_names(path: str) -> Optional[Set[str]]:
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None  # ``from base_conf import *``: cannot tell
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def env_may_supply(value: Optional[str]) -> bool:
    """A ``GUNICORN_CMD_ARGS`` value (None: not a literal) that may hold ``--max-requests``."""
    return value is None or "max-requests" in value or "$" in value or "{{" in value


def judge(command: ServerCommand, project: Project) -> Optional[str]:
    """The finding's message, or None when the command recycles its workers or we cannot tell."""
    options = parse_options(command.args)
    if options.unknown or any(n in options.values for n in NOT_SERVING) or project.serves_missing_module(options):
        return None
    if command.server == "uvicorn":
        if project.gunicorn_elsewhere or "--reload" in options.values or _set(options, "--limit-max-requests"):
            return None
        return ("uvicorn runs without `--limit-max-requests` and no gunicorn in front: a leaking server "
                "process is never recycled")
    for word in command.env:
        name, _, value = word.text.partition("=")
        if name == "GUNICORN_CMD_ARGS" and (word.expands or env_may_supply(value)):
            return None
    if project.env_may_supply:
        return None
    present = {flag for flag, _ in GUNICORN_FLAGS if _set(options, flag)}
    config = options.values.get("-c") or options.values.get("--config")
    if "-c" in options.values or "--config" in options.values:
        if config is None or config.expands:
            return None
        names = project.config(config.text)
        if names is None or names & GUNICORN_SETTINGS:
            return None  # unknown, or a settings module that LL602 judges in its own file
    elif project.default_config:
        return None
    missing = [flag for flag, _ in GUNICORN_FLAGS if flag not in present]
    if not missing:
        return None
    shown = ", ".join(f"`{m}`" for m in missing)
    return f"gunicorn command without {shown}: leaking workers are never recycled"
