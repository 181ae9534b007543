"""Baselines: accept today's findings, fail only on new ones.

A finding's fingerprint is a hash of its code, its file (relative to the project root) and the
normalised text of its statement, from the statement's first line to the line the finding
starts on, whitespace collapsed and any ``# noqa`` left out. Line numbers and indentation are not
part of it, so a finding keeps its fingerprint when lines above it are added or removed, when its
code is re-indented, and when unrelated lines change. Identical findings in one file (the same
code on the same statement text) share a fingerprint; the baseline counts them, and only
occurrences beyond the recorded count are new. ``--write-baseline`` rewrites the file from the
current findings, so a fixed finding drops out. SARIF output carries the same fingerprint.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

from leaklint.cache import digest
from leaklint.diagnostics import Diagnostic

FORMAT_VERSION = 1
NOQA_TAIL = re.compile(r"#\s*noqa\b.*$", re.IGNORECASE)


class BaselineError(Exception):
    """One line for the user (exit 2): a missing or malformed baseline file."""


def relative_path(filename: str, root: str) -> str:
    path = os.path.abspath(filename)
    root = os.path.abspath(root)
    if path.startswith(root.rstrip(os.sep) + os.sep):
        path = os.path.relpath(path, root)
    return path.replace(os.sep, "/")


def _lines(filename: str, cache: Dict[str, List[str]]) -> List[str]:
    if filename not in cache:
        from leaklint.engine import SourceError, decode

        try:
            with open(filename, "rb") as handle:
                cache[filename] = decode(handle.read()).splitlines()
        except (OSError, SourceError, UnicodeDecodeError, SyntaxError, LookupError):
            cache[filename] = []
    return cache[filename]


def statement_text(diagnostic: Diagnostic, lines: Sequence[str]) -> str:
    """The finding's statement, first line to the finding's own line, normalised."""
    first = min((diagnostic.noqa_row, *diagnostic.noqa_rows, diagnostic.start.row))
    last = diagnostic.start.row
    if first < last - 20:  # a finding deep inside a long statement: its own line is what identifies it
        first = last
    chunk = [NOQA_TAIL.sub("", line) for line in lines[max(0, first - 1):last]]
    return " ".join(" ".join(chunk).split())


def fingerprints(diagnostics: Sequence[Diagnostic], root: str,
                 sources: Optional[Dict[str, List[str]]] = None) -> List[Tuple[str, int]]:
    """``(fingerprint, occurrence)`` for each diagnostic, in the order given (occurrence counts
    earlier findings of the same file with the same fingerprint)."""
    texts: Dict[str, List[str]] = {}
    if sources:
        texts.update({name: [line.rstrip("\r\n") for line in lines] for name, lines in sources.items()})
    seen: Counter = Counter()
    out: List[Tuple[str, int]] = []
    for d in diagnostics:
        path = relative_path(d.filename, root)
        fp = digest("leaklint-fingerprint", d.code, path, statement_text(d, _lines(d.filename, texts)))
        out.append((fp, seen[(path, fp)]))
        seen[(path, fp)] += 1
    return out


def write(path: str, diagnostics: Sequence[Diagnostic], root: str) -> int:
    """Record the findings; returns how many. Sorted, so the file diffs well in review."""
    counts: Counter = Counter()
    messages: Dict[Tuple[str, str, str], str] = {}
    for d, (fp, _) in zip(diagnostics, fingerprints(diagnostics, root)):
        key = (relative_path(d.filename, root), d.code, fp)
        counts[key] += 1
        messages.setdefault(key, d.message)
    findings = [{"path": p, "code": c, "fingerprint": fp, "count": counts[(p, c, fp)],
                 "message": messages[(p, c, fp)]} for p, c, fp in sorted(counts)]
    document = {"leaklint-baseline": FORMAT_VERSION, "findings": findings}
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        from leaklint.writer import WriteError, write_atomic

        data = (json.dumps(document, indent=2) + "\n").encode("utf-8")
        if os.path.exists(path):
            write_atomic(path, data)
        else:
            with open(path, "wb") as handle:
                handle.write(data)
    except (OSError, WriteError) as exc:
        raise BaselineError(f"{path}: cannot write baseline: {getattr(exc, 'strerror', None) or exc}") from None
    return len(diagnostics)


def load(path: str) -> Counter:
    """``(path, fingerprint) -> count`` of a baseline file."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        raise BaselineError(f"{path}: baseline file not found (create it with --write-baseline {path})") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read baseline: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BaselineError(f"{path}: not a leaklint baseline (invalid JSON: {exc})") from None
    if not isinstance(document, dict) or document.get("leaklint-baseline") != FORMAT_VERSION or \
            not isinstance(document.get("findings"), list):
        raise BaselineError(f"{path}: not a leaklint baseline (rewrite it with --write-baseline)")
    counts: Counter = Counter()
    for entry in document["findings"]:
        try:
            counts[(str(entry["path"]), str(entry["fingerprint"]))] += int(entry.get("count", 1))
        except (KeyError, TypeError, ValueError):
            raise BaselineError(f"{path}: malformed baseline entry {entry!r}") from None
    return counts


def new_findings(diagnostics: Sequence[Diagnostic], accepted: Counter, root: str) -> List[Diagnostic]:
    """The findings beyond what the baseline accepts (per file and fingerprint, by count)."""
    remaining = Counter(accepted)
    out: List[Diagnostic] = []
    for d, (fp, _) in zip(diagnostics, fingerprints(diagnostics, root)):
        key = (relative_path(d.filename, root), fp)
        if remaining[key] > 0:
            remaining[key] -= 1
        else:
            out.append(d)
    return out
