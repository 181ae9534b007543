"""Qualified-name resolution through the module's own import table.

libcst's ScopeProvider + QualifiedNameProvider cost about 8x a parse on every file. Resolving
library identities only needs the module's import table (built once by the ``ast`` map phase)
plus, per function, which names it rebinds locally; that is exact for Python's scoping rules
and costs nothing per node.
"""

from __future__ import annotations

from typing import FrozenSet, Iterable, Mapping, Optional, Sequence, Tuple

Names = FrozenSet[str]
EMPTY: Names = frozenset()

BUILTIN_NAMES = frozenset(
    {"open", "print", "bool", "len", "dict", "list", "set", "tuple", "iter", "bytes", "str", "object",
     "staticmethod", "classmethod", "property", "super", "isinstance", "next", "map", "filter",
     "bytearray", "frozenset", "memoryview", "globals", "setattr", "getattr", "type", "id", "enumerate"}
)


def absolute_module(module: Optional[str], level: int, current_package: str) -> Optional[str]:
    """Resolve ``from ..x import y``'s module part against the importing module's package."""
    if level == 0:
        return module
    parts = current_package.split(".") if current_package else []
    if level - 1 > len(parts):
        return None
    base = parts[: len(parts) - (level - 1)]
    if module:
        base = base + module.split(".")
    return ".".join(base) if base else None


def import_bindings(
    module: Optional[str], names: Sequence[Tuple[str, Optional[str]]], level: int,
    current_package: str, is_from: bool,
) -> Iterable[Tuple[str, str]]:
    """Yield ``(local name, qualified name)`` pairs an import statement binds.

    ``import a.b`` binds ``a`` -> ``a``; ``import a.b as c`` binds ``c`` -> ``a.b``;
    ``from a import b as c`` binds ``c`` -> ``a.b``. Star imports bind nothing we can know.
    """
    if not is_from:
        for name, asname in names:
            if asname:
                yield asname, name
            else:
                top = name.split(".")[0]
                yield top, top
        return
    base = absolute_module(module, level, current_package)
    if base is None:
        return
    for name, asname in names:
        if name == "*":
            continue
        yield asname or name, f"{base}.{name}"


def matches(candidates: Names, targets: Iterable[str]) -> bool:
    """True when any candidate qualified name is one of ``targets``."""
    return not candidates.isdisjoint(targets)


def any_prefix(candidates: Names, prefixes: Iterable[str]) -> bool:
    prefixes = tuple(prefixes)
    return any(c == p or c.startswith(p + ".") for c in candidates for p in prefixes)


def attribute_parent(qualified: str) -> Tuple[str, str]:
    head, _, attr = qualified.rpartition(".")
    return head, attr


def qualify_parts(
    parts: Sequence[str],
    function_chain: Sequence[Mapping[str, object]],
    module_imports: Mapping[str, Sequence[str]],
    module_definitions: Iterable[str] | Mapping[str, object],
    module_name: str,
) -> Names:
    """Qualified-name candidates for a dotted reference ``parts`` (``["orm", "sessionmaker"]``).

    ``function_chain`` lists, outermost first, each enclosing function's scope record:
    ``{"shadowed": set of names bound locally, "imports": {name: qualified}}``.
    A name bound in a function but not by an import resolves to nothing: it shadows any import.
    """
    if not parts:
        return EMPTY
    head, rest = parts[0], list(parts[1:])
    for scope in reversed(function_chain):
        local_imports = scope.get("imports") or {}
        if head in local_imports:
            return frozenset({".".join([local_imports[head], *rest])})  # type: ignore[index]
        if head in (scope.get("shadowed") or ()):
            return EMPTY
    if head in module_imports:
        return frozenset(".".join([q, *rest]) for q in module_imports[head])
    if head in module_definitions:
        return frozenset({".".join([module_name, head, *rest])})
    if head in BUILTIN_NAMES:
        return frozenset({".".join(["builtins", head, *rest])})
    return EMPTY
