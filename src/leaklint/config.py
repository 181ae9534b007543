"""``[tool.leaklint]`` in ``pyproject.toml``: found once per run, validated strictly.

A broken config stops the run (exit 2) with one line naming the file and the key, as ruff does:
a typo in ``ignore`` must not silently lint with the wrong rules.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from leaklint import registry

OUTPUT_FORMATS = ("concise", "full", "json", "json-lines", "github", "sarif")
DEFAULT_EXCLUDE = (
    ".git", ".hg", ".svn", ".bzr", ".venv", "venv", ".env", "env", ".tox", ".nox", ".eggs", "*.egg-info",
    "build", "dist", "node_modules", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache",
    ".cache", "site-packages", "__pypackages__", "_build", "buck-out",
    # vendored copies of other projects: their leaks are their maintainers' to fix, and flagging them
    # buries the application's own findings (set `exclude` to lint them anyway)
    "third_party", "thirdparty", "_vendor", "vendored",
)


class ConfigError(Exception):
    """One line for the user; the CLI exits 2."""


@dataclass
class Settings:
    select: List[str] = field(default_factory=list)
    extend_select: List[str] = field(default_factory=list)
    ignore: List[str] = field(default_factory=list)
    per_file_ignores: Dict[str, List[str]] = field(default_factory=dict)
    exclude: List[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: List[str] = field(default_factory=list)
    respect_gitignore: bool = True
    force_exclude: bool = False
    unsafe_fixes: bool = False
    output_format: str = "concise"
    preview: bool = False
    #: ``[tool.leaklint.resources]``: the user's own resource kinds, name -> {acquire, release, label}
    resources: Dict[str, Dict[str, Any]] = field(default_factory=dict)
    #: ``cache-dir``: where the result cache lives (relative to ``root``); default ``.leaklint_cache``
    cache_dir: Optional[str] = None
    #: ``baseline``: the findings file whose entries are not reported (relative to ``root``)
    baseline: Optional[str] = None
    #: the file the settings came from, and the folder globs are relative to
    source: Optional[str] = None
    root: str = "."

    @property
    def all_excludes(self) -> List[str]:
        return list(self.exclude) + list(self.extend_exclude)


_LIST_KEYS = {"select", "extend-select", "ignore", "exclude", "extend-exclude"}
_BOOL_KEYS = {"respect-gitignore", "force-exclude", "unsafe-fixes", "preview"}
_PATH_KEYS = {"cache-dir", "baseline"}
_KNOWN = _LIST_KEYS | _BOOL_KEYS | _PATH_KEYS | {"per-file-ignores", "output-format", "resources"}


def find_config(start: str) -> Optional[str]:
    """Nearest ``pyproject.toml`` with a ``[tool.leaklint]`` table, from ``start`` upwards."""
    directory = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, "rb") as handle:
                    data = tomllib.load(handle)
            except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
                data = None
            if data is None or "leaklint" in data.get("tool", {}):
                return candidate  # a broken file is reported by load(), not skipped
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def load(path: Optional[str]) -> Settings:
    if path is None:
        return Settings(root=os.getcwd())
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if os.path.basename(path) == "pyproject.toml":
        table = data.get("tool", {}).get("leaklint", {})
        prefix = "tool.leaklint"
    else:
        table, prefix = data, ""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: '{prefix}' must be a table")
    return from_table(table, path, prefix)


def from_table(table: Dict[str, Any], path: str, prefix: str) -> Settings:
    settings = Settings(source=path, root=os.path.dirname(os.path.abspath(path)))

    def where(key: str) -> str:
        return f"{path}: '{prefix + '.' if prefix else ''}{key}'"

    for key, value in table.items():
        if key not in _KNOWN:
            raise ConfigError(f"{where(key)}: unknown key (expected one of: {', '.join(sorted(_KNOWN))})")
        attr = key.replace("-", "_")
        if key in _LIST_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where(key)}: expected a list of strings")
            if key in ("select", "extend-select", "ignore"):
                _check_selectors(value, where(key))
            setattr(settings, attr, list(value))
        elif key in _BOOL_KEYS:
            if not isinstance(value, bool):
                raise ConfigError(f"{where(key)}: expected true or false")
            setattr(settings, attr, value)
        elif key in _PATH_KEYS:
            if not isinstance(value, str) or not value.strip() or "\0" in value:
                raise ConfigError(f"{where(key)}: expected a path (a non-empty string)")
            setattr(settings, attr, value)
        elif key == "output-format":
            if value not in OUTPUT_FORMATS:
                raise ConfigError(f"{where(key)}: expected one of {', '.join(OUTPUT_FORMATS)}, got {value!r}")
            settings.output_format = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key)}: expected a table of glob = [codes]")
            for glob, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise ConfigError(f"{where(key + '.' + glob)}: expected a list of codes")
                _check_selectors(codes, where(f"{key}.{glob}"))
            settings.per_file_ignores = {g: list(c) for g, c in value.items()}
        elif key == "resources":
            from leaklint.semantics.resources import validate_user_kinds

            problem = validate_user_kinds(value)
            if problem is not None:
                raise ConfigError(f"{where(key)}: {problem}")
            settings.resources = {name: dict(spec) for name, spec in value.items()}
    return settings


def _check_selectors(values: List[str], where: str) -> None:
    for value in values:
        try:
            registry.expand(value)
        except registry.UnknownSelector:
            raise ConfigError(f"{where}: unknown rule selector {value!r}") from None
