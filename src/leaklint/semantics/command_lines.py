"""Where a server's command line really lives: Dockerfiles, Procfiles, compose/Kubernetes YAML,
supervisord programs, scripts.

Each reader turns one file into the simple commands it runs (words with their rows and columns)
so that LL602 can judge a ``gunicorn``/``uvicorn`` command wherever it is written. The YAML reader
is line-based on purpose: it needs the line of each word (which a YAML library does not keep for
scalars inside sequences) and only the ``command:``/``args:``/``entrypoint:`` keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from leaklint.semantics.shell_words import Word, expand_shell_c, split_commands

Lines = List[Tuple[int, str]]


@dataclass(frozen=True)
class CommandSite:
    words: Tuple[Word, ...]  # one simple command
    rows: Tuple[int, ...]  # rows whose ``# noqa`` silences a finding on it


def command_sites(kind: str, text: str) -> List[CommandSite]:
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines())]
    if kind == "dockerfile":
        return _dockerfile(lines)
    if kind == "procfile":
        return _procfile(lines)
    if kind == "yaml":
        return _yaml(lines, text)
    if kind == "supervisord":
        return _supervisord(lines)
    return [CommandSite(tuple(c), _rows_of(c)) for words in split_commands(lines) for c in expand_shell_c(words)]


def _rows_of(words: Sequence[Word]) -> Tuple[int, ...]:
    return tuple(sorted({w.row for w in words}))


def _sites(words: List[Word], rows: Sequence[int]) -> List[CommandSite]:
    return [CommandSite(tuple(c), tuple(sorted(set(rows) | set(_rows_of(c))))) for c in expand_shell_c(words)]


# -- Dockerfile ---------------------------------------------------------------------------------

def _instructions(lines: Lines) -> List[Tuple[str, Lines, Tuple[int, ...]]]:
    """``(INSTRUCTION, its physical lines with the keyword blanked, noqa rows)``; comments dropped."""
    out = []
    current: Lines = []
    previous_comment: Optional[int] = None
    comment_above: Optional[int] = None
    for row, line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            if not current:
                previous_comment = row
            continue  # a comment line inside a continued instruction is dropped by Docker too
        if not stripped and not current:
            previous_comment = None
            continue
        if not current:
            comment_above = previous_comment if previous_comment == row - 1 else None
        current.append((row, line))
        if not line.rstrip().endswith("\\"):
            out.append(_instruction(current, comment_above))
            current, previous_comment = [], None
    if current:
        out.append(_instruction(current, comment_above))
    return [i for i in out if i is not None]


def _instruction(physical: Lines, comment_above: Optional[int]):
    first_row, first = physical[0]
    match = re.match(r"\s*([A-Za-z]+)", first)
    if match is None:
        return None
    blanked = first[:match.start(1)] + " " * len(match.group(1)) + first[match.end(1):]
    rows = tuple(r for r, _ in physical) + ((comment_above,) if comment_above else ())
    return match.group(1).upper(), [(first_row, blanked)] + physical[1:], rows


def _exec_form(physical: Lines) -> Optional[List[Word]]:
    """``CMD ["gunicorn", "app:app"]``: the JSON array's strings, each located in its line."""
    text = " ".join(line.rstrip().rstrip("\\") for _, line in physical).strip()
    if not text.startswith("["):
        return None
    try:
        items = json.loads(text)
    except ValueError:
        return None
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        return None
    words: List[Word] = []
    position = (0, 0)  # (line index, column) searched from, so a repeated item lands on its own spot
    for item in items:
        encoded = json.dumps(item)
        row, column = physical[0][0], 1
        for index in range(position[0], len(physical)):
            start = position[1] if index == position[0] else 0
            found = physical[index][1].find(encoded, start)
            if found >= 0:
                row, column = physical[index][0], found + 1
                position = (index, found + len(encoded))
                break
        words.append(Word(item, row, column, "$" in item, True))
    return words


def _dockerfile(lines: Lines) -> List[CommandSite]:
    sites: List[CommandSite] = []
    stage: Dict[str, Tuple[List[Word], Tuple[int, ...], bool]] = {}

    def end_stage() -> None:
        entry, cmd = stage.get("ENTRYPOINT"), stage.get("CMD")
        if entry is not None and entry[2] and cmd is not None and cmd[2]:
            # an exec-form ENTRYPOINT takes the CMD as its arguments
            sites.extend(_sites(entry[0] + cmd[0], entry[1] + cmd[1]))
        else:
            chosen = entry if entry is not None else cmd  # a shell-form ENTRYPOINT ignores CMD
            if chosen is not None:
                commands = [chosen[0]] if chosen[2] else chosen[0]
                for words in commands:
                    sites.extend(_sites(words, chosen[1]))  # type: ignore[arg-type]
        stage.clear()

    for keyword, physical, rows in _instructions(lines):
        if keyword == "FROM":
            end_stage()
        elif keyword in ("CMD", "ENTRYPOINT"):
            words = _exec_form(physical)
            if words is not None:
                stage[keyword] = (words, rows, True)
            else:
                stage[keyword] = (split_commands(physical), rows, False)  # type: ignore[assignment]
    end_stage()
    return sites


# -- Procfile -----------------------------------------------------------------------------------

def _procfile(lines: Lines) -> List[CommandSite]:
    sites: List[CommandSite] = []
    for row, line in lines:
        match = re.match(r"\s*[\w.-]+\s*:", line)
        if match is None or line.lstrip().startswith("#"):
            continue
        blanked = " " * match.end() + line[match.end():]
        for words in split_commands([(row, blanked)]):
            sites.extend(_sites(words, (row,)))
    return sites


# -- supervisord ------------------------------------------------------------------------------

SECTION = re.compile(r"^\[(?P<name>[^\]]*)\]")
PROGRAM_COMMAND = re.compile(r"^command\s*[=:]")
INLINE_COMMENT = re.compile(r"\s;.*$")  # supervisord: ``;`` after whitespace starts a comment


def _supervisord(lines: Lines) -> List[CommandSite]:
    """``command=`` of each ``[program:x]`` section, with its indented continuation lines."""
    sites: List[CommandSite] = []
    in_program = False
    index = 0
    while index < len(lines):
        row, line = lines[index]
        index += 1
        section = SECTION.match(line)
        if section is not None:
            in_program = section.group("name").strip().startswith(("program:", "fcgi-program:"))
            continue
        match = PROGRAM_COMMAND.match(line)
        if not in_program or match is None:
            continue
        physical = [(row, " " * match.end() + INLINE_COMMENT.sub("", line[match.end():]))]
        while True:
            # as supervisord's parser reads a value: comment lines and blank lines inside it are
            # skipped, and the value goes on while indented lines follow
            ahead = index
            while ahead < len(lines) and (not lines[ahead][1].strip() or
                                          lines[ahead][1].lstrip().startswith((";", "#"))):
                ahead += 1
            if ahead == len(lines) or lines[ahead][1][:1] not in (" ", "\t"):
                break
            physical.append((lines[ahead][0], INLINE_COMMENT.sub("", lines[ahead][1])))
            index = ahead + 1
        joined = [(r, text + (" \\" if i < len(physical) - 1 else "")) for i, (r, text) in enumerate(physical)]
        for words in split_commands(joined):
            sites.extend(_sites(words, [r for r, _ in physical]))
    return sites


# -- YAML (docker-compose, Kubernetes, Helm templates) ------------------------------------------

KEY = re.compile(r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>command|args|entrypoint)\s*:(?P<rest>.*)$")
ITEM = re.compile(r"^(?P<indent>\s*)-(?:\s+(?P<value>.*))?$")
BLOCK = re.compile(r"^[|>][-+0-9]*$")


def looks_like_deployment_yaml(text: str) -> bool:
    """docker-compose (a top-level ``services:``) or a Kubernetes/Helm manifest (``containers:``)."""
    return bool(re.search(r"^services\s*:", text, re.M) or re.search(r"^\s*containers\s*:", text, re.M))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _strip_comment(text: str) -> str:
    quote = None
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
        elif char == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _scalar(text: str, row: int, column: int) -> Word:
    """One YAML scalar (plain, '...' or "...") starting at ``column``."""
    stripped = text.strip()
    column += len(text) - len(text.lstrip())
    if len(stripped) >= 2 and stripped[0] == stripped[-1] and stripped[0] in ("'", '"'):
        inner = stripped[1:-1]
        inner = inner.replace("''", "'") if stripped[0] == "'" else inner.replace('\\"', '"')
        return Word(inner, row, column + 1, "$" in inner or "{{" in inner, True)
    return Word(stripped, row, column, "$" in stripped or "{{" in stripped, False)


def _flow_items(physical: Lines) -> List[Word]:
    """``[gunicorn, "-w", '4']`` over one or more lines."""
    items: List[Word] = []
    for row, line in physical:
        start = line.find("[") + 1 if row == physical[0][0] else 0
        piece, piece_start, quote = "", start, None
        for i in range(start, len(line)):
            char = line[i]
            if quote:
                quote = None if char == quote else quote
                piece += char
            elif char in ("'", '"'):
                quote = char
                piece += char
            elif char in ",]":
                if piece.strip():
                    items.append(_scalar(piece, row, piece_start + 1))
                piece, piece_start = "", i + 1
                if char == "]":
                    return items
            else:
                piece += char
        if piece.strip():
            items.append(_scalar(piece, row, piece_start + 1))
    return items


def _block_scalar(lines: Lines, index: int, parent_indent: int, folded: bool) -> Tuple[Lines, int]:
    """The lines of a ``|``/``>`` block after ``lines[index]``; folded lines are joined."""
    block: Lines = []
    j = index + 1
    while j < len(lines) and (not lines[j][1].strip() or _indent(lines[j][1]) > parent_indent):
        block.append(lines[j])
        j += 1
    if folded:
        block = [(r, t + " \\") if k < len(block) - 1 and t.strip() else (r, t) for k, (r, t) in enumerate(block)]
    return block, j


def _value(lines: Lines, index: int, key_indent: int, rest: str, rest_column: int) -> Tuple[List[List[Word]], int]:
    """The commands a key's value holds, and the index of the line after it."""
    row = lines[index][0]
    value = _strip_comment(rest).strip()
    if value.startswith("["):
        physical, j = [(row, " " * rest_column + rest)], index + 1
        while "]" not in _strip_comment(physical[-1][1]) and j < len(lines):
            physical.append(lines[j])
            j += 1
        return [_flow_items(physical)], j
    if BLOCK.match(value):
        block, j = _block_scalar(lines, index, key_indent, value.startswith(">"))
        return split_commands(block), j
    if value:
        word = _scalar(value, row, rest_column + 1 + len(rest) - len(rest.lstrip()))
        offset = word.column - 1
        return split_commands([(row, word.text)], offset), index + 1
    items: List[Word] = []
    j = index + 1
    while j < len(lines):
        line = lines[j][1]
        if not line.strip() or line.strip().startswith(("#", "{{")):
            j += 1  # comments, and Helm's ``{{- if ... }}`` lines between the items
            continue
        match = ITEM.match(line)
        if match is None or _indent(line) < key_indent or (match and _indent(line) > key_indent + 8):
            break
        item = _strip_comment(match.group("value") or "")
        item_column = len(line) - len(match.group("value") or "") + 1
        if BLOCK.match(item):
            block, after = _block_scalar(lines, j, _indent(line), item.startswith(">"))
            content = [t for _, t in block]
            margin = min((_indent(t) for t in content if t.strip()), default=0)
            text = "\n".join(t[margin:] for t in content)
            first_row = block[0][0] if block else lines[j][0]
            items.append(Word(text, first_row, margin + 1, "$" in text, False))
            j = after
            continue
        items.append(_scalar(item, lines[j][0], item_column))
        j += 1
    return [items], j


def _parent_row(lines: Lines, index: int, indent: int) -> int:
    for j in range(index - 1, -1, -1):
        line = lines[j][1]
        if line.strip() and not line.strip().startswith("#") and _indent(line) < indent:
            return lines[j][0]
    return 0


ORDER = {"entrypoint": 0, "command": 1, "args": 2}


def _yaml(lines: Lines, text: str) -> List[CommandSite]:
    if not looks_like_deployment_yaml(text):
        return []
    groups: Dict[Tuple[int, int], List[Tuple[str, List[List[Word]], Tuple[int, ...]]]] = {}
    index = 0
    while index < len(lines):
        row, line = lines[index]
        match = KEY.match(line)
        if match is None:
            index += 1
            continue
        indent = len(match.group("indent")) + len(match.group("dash") or "")
        parent = row if match.group("dash") else _parent_row(lines, index, indent)
        commands, after = _value(lines, index, indent, match.group("rest"), match.start("rest"))
        rows = tuple(r for r, _ in lines[index:after])
        groups.setdefault((parent, indent), []).append((match.group("key"), commands, rows))
        index = max(after, index + 1)
    sites: List[CommandSite] = []
    for members in groups.values():
        members.sort(key=lambda m: ORDER[m[0]])
        if len(members) > 1 and all(len(m[1]) == 1 for m in members):  # a list each: one argv
            words = [w for m in members for w in m[1][0]]
            sites.extend(_sites(words, tuple(r for m in members for r in m[2])))
            continue
        for _, commands, rows in members:
            for words in commands:
                sites.extend(_sites(words, rows))
    return sites
