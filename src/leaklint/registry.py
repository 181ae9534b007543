"""The code table: every rule class, found by importing each module of ``leaklint.rules`` once.

A family is a subpackage (``leaklint.rules.sessions``) with one module per rule; its modules and
subpackages are imported recursively. A class is registered under the ``code`` it sets itself, so
family base classes (no code) are never rules.

Selectors work as in ruff: a full code (``LL101``), a prefix (``LL1``, ``LL``) or ``ALL``.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Dict, Iterable, List, Sequence, Type

from leaklint.rule import Rule


class UnknownSelector(ValueError):
    pass


def _reraise(name: str) -> None:
    raise  # a rule package that fails to import must fail the run, not silently drop its rules


@functools.lru_cache(maxsize=1)
def all_rules() -> Dict[str, Type[Rule]]:
    import leaklint.rules as package

    for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.", onerror=_reraise):
        importlib.import_module(info.name)
    found: Dict[str, Type[Rule]] = {}
    stack = list(Rule.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        if cls.__dict__.get("code") and cls.__module__.startswith("leaklint.rules."):
            if cls.code in found and found[cls.code] is not cls:
                raise RuntimeError(f"duplicate rule code {cls.code}")
            found[cls.code] = cls
    return dict(sorted(found.items()))


def rule_by_code(code: str) -> Type[Rule]:
    rules = all_rules()
    if code not in rules:
        raise KeyError(code)
    return rules[code]


def expand(selector: str) -> List[str]:
    """Codes matched by one selector; raises ``UnknownSelector`` for one that matches nothing."""
    selector = selector.strip().upper()
    codes = list(all_rules())
    if selector == "ALL":
        return codes
    matched = [c for c in codes if c.startswith(selector)]
    if not matched:
        raise UnknownSelector(selector)
    return matched


def select(select: Sequence[str], extend: Sequence[str], ignore: Sequence[str]) -> List[str]:
    """The enabled codes: ``select`` (default: all stable rules) + ``extend`` - ``ignore``.

    Tool diagnostics (LL0xx: syntax errors, unreadable files, failed fixes) cannot be disabled
    by selection; a user silences them with ``# noqa`` or per-file ignores like anything else.
    """
    rules = all_rules()
    if select:
        chosen = {c for s in select for c in expand(s)}
    else:
        chosen = {c for c, r in rules.items() if not r.preview}
    chosen |= {c for s in extend for c in expand(s)}
    chosen -= {c for s in ignore for c in expand(s)}
    chosen |= {c for c in rules if c.startswith("LL0")}
    return sorted(chosen)


def classes(codes: Iterable[str]) -> List[Type[Rule]]:
    rules = all_rules()
    return [rules[c] for c in codes if not c.startswith("LL0")]
