"""Which Dockerfiles only a development compose service runs (LL602).

A compose service that builds an image (``build: backend``) and runs it with ``command: --reload``
is the development setup: its Dockerfile's command, with ``--reload`` appended or replaced, is a
dev server. When every service that builds a Dockerfile runs it that way, the Dockerfile is not
how production runs, and a missing ``--max-requests`` there cannot matter (opengpts'
``backend/Dockerfile`` beside the root one). A Dockerfile no compose service builds, or one that
some service runs without ``--reload``, is judged as before.

The reader is line-based like ``command_lines``: only ``services:``, each service's ``build:``
(``context:``/``dockerfile:``) and whether its ``command:``/``entrypoint:`` holds ``--reload``.
"""

from __future__ import annotations

import os
import re
from typing import Dict, Iterable, List, Optional, Set, Tuple

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_.-]+)\s*:\s*(?P<rest>.*)$")
_RELOAD = re.compile(r"(?:^|[\s\"'\[,])--reload(?:$|[\s\"'\],=])")


def _scalar(text: str) -> str:
    text = re.split(r"\s+#", text, maxsplit=1)[0].strip()
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _blocks(lines: List[str], start: int, parent_indent: int) -> Iterable[Tuple[str, str, List[str]]]:
    """``(key, inline value, nested lines)`` of each key one level below ``lines[start - 1]``."""
    child: Optional[int] = None
    i = start
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent <= parent_indent:
            return
        match = _KEY.match(line)
        if child is None:
            child = indent
        if match is None or indent != child:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip(" ")) > child):
            j += 1
        yield match.group("key"), match.group("rest"), lines[i + 1:j]
        i = j


def _built_dockerfile(folder: str, inline: str, nested: List[str]) -> Optional[str]:
    context, dockerfile = _scalar(inline), "Dockerfile"
    if not context:
        for key, rest, _ in _blocks(nested, 0, -1):
            if key == "context":
                context = _scalar(rest)
            elif key == "dockerfile":
                dockerfile = _scalar(rest)
    if not context or "$" in context or "$" in dockerfile or "://" in context:
        return None  # a variable or a remote context: cannot tell which file
    return os.path.normpath(os.path.join(folder, context, dockerfile))


def dev_only_dockerfiles(compose_texts: Dict[str, str]) -> Set[str]:
    """Absolute paths of the Dockerfiles that only ``--reload`` compose services build."""
    reload_only: Dict[str, bool] = {}
    for path, text in compose_texts.items():
        lines = text.splitlines()
        folder = os.path.dirname(os.path.abspath(path))
        for index, line in enumerate(lines):
            if not re.match(r"^services\s*:\s*$", line):
                continue
            for _, _, service in _blocks(lines, index + 1, 0):
                dockerfile, reloads = None, False
                for key, rest, nested in _blocks(service, 0, -1):
                    if key == "build":
                        dockerfile = _built_dockerfile(folder, rest, nested)
                    elif key in ("command", "entrypoint"):
                        reloads = reloads or any(_RELOAD.search(t) for t in [rest, *nested])
                if dockerfile is not None:
                    reload_only[dockerfile] = reload_only.get(dockerfile, True) and reloads
    return {path for path, only in reload_only.items() if only}
