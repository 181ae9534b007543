"""A small POSIX-shell word splitter that keeps where each word starts (for LL602's findings).

``shlex`` loses positions, and a finding in a Dockerfile or a script must point at its line. This
splits text into simple commands (at ``&&``, ``||``, ``;``, ``|``, ``&``, newlines, parentheses)
and each command into words with quotes removed, remembering whether a word holds an expansion
(``$VAR``, ``$(...)``, backticks) that could stand for more arguments than we can see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

OPERATOR_CHARS = "&|;()"


@dataclass(frozen=True)
class Word:
    text: str
    row: int
    column: int  # 1-based
    expands: bool = False  # holds ``$...``/backticks: its value is not known here
    quoted: bool = False  # some part was quoted (so ``"$@"`` and ``'gunicorn x'`` stay one word)


class _Splitter:
    def __init__(self, lines: Sequence[Tuple[int, str]], column_offset: int = 0) -> None:
        # (row, text) per physical line; a line continued with a backslash joins the next one
        self.chars: List[Tuple[str, int, int]] = []
        for row, text in lines:
            for i, char in enumerate(text):
                self.chars.append((char, row, i + 1 + column_offset))
            self.chars.append(("\n", row, len(text) + 1 + column_offset))
        self.i = 0
        self.commands: List[List[Word]] = [[]]

    def _peek(self, ahead: int = 0) -> Optional[str]:
        j = self.i + ahead
        return self.chars[j][0] if j < len(self.chars) else None

    def _end_command(self) -> None:
        if self.commands[-1]:
            self.commands.append([])

    def run(self) -> List[List[Word]]:
        while self.i < len(self.chars):
            char = self._peek()
            if char in (" ", "\t", "\r"):
                self.i += 1
            elif char == "\n" or char in OPERATOR_CHARS:
                self._end_command()
                self.i += 1
            elif char == "\\" and self._peek(1) == "\n":
                self.i += 2
            elif char == "#":
                while self.i < len(self.chars) and self._peek() != "\n":
                    self.i += 1
            else:
                self.commands[-1].append(self._word())
        return [c for c in self.commands if c]

    def _word(self) -> Word:
        _, row, column = self.chars[self.i]
        text: List[str] = []
        expands = quoted = False
        while self.i < len(self.chars):
            char = self._peek()
            if char in (" ", "\t", "\r", "\n") or char in OPERATOR_CHARS:
                break
            if char == "\\":
                following = self._peek(1)
                self.i += 2
                if following is not None and following != "\n":
                    text.append(following)
                continue
            if char == "'":
                quoted = True
                self.i += 1
                while self.i < len(self.chars) and self._peek() != "'":
                    text.append(self._peek())  # type: ignore[arg-type]
                    self.i += 1
                self.i += 1
                continue
            if char == '"':
                quoted = True
                self.i += 1
                while self.i < len(self.chars) and self._peek() != '"':
                    inner = self._peek()
                    if inner == "\\" and self._peek(1) in ('"', "\\", "$", "`"):
                        text.append(self._peek(1))  # type: ignore[arg-type]
                        self.i += 2
                        continue
                    if inner in ("$", "`"):
                        expands = True
                    text.append(inner)  # type: ignore[arg-type]
                    self.i += 1
                self.i += 1
                continue
            if char in ("$", "`"):
                expands = True
                if char == "$" and self._peek(1) in ("(", "{"):
                    text.extend(self._balanced())
                    continue
            text.append(char)  # type: ignore[arg-type]
            self.i += 1
        return Word("".join(text), row, column, expands, quoted)

    def _balanced(self) -> List[str]:
        """``$(...)`` / ``${...}``: one piece of the word, however many spaces it holds."""
        opening = self._peek(1)
        closing = ")" if opening == "(" else "}"
        out = ["$", opening]  # type: ignore[list-item]
        self.i += 2
        depth = 1
        while self.i < len(self.chars) and depth:
            char = self._peek()
            if char == opening:
                depth += 1
            elif char == closing:
                depth -= 1
            out.append(char)  # type: ignore[arg-type]
            self.i += 1
        return out


def split_commands(lines: Sequence[Tuple[int, str]], column_offset: int = 0) -> List[List[Word]]:
    """Simple commands of shell text given as ``(row, line)`` pairs."""
    return _Splitter(lines, column_offset).run()


SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ash"})


def expand_shell_c(words: List[Word]) -> List[List[Word]]:
    """``sh -c "gunicorn ..."`` (also in exec form): the commands inside the string; else ``[words]``."""
    if len(words) >= 3 and words[0].text.rsplit("/", 1)[-1] in SHELLS:
        for i, word in enumerate(words[1:-1], start=1):
            if word.text.startswith("-") and "c" in word.text[1:] and not word.text.startswith("--"):
                script = words[i + 1]
                offset = script.column if script.quoted else script.column - 1
                return split_commands([(script.row, script.text)], offset) or [words]
    return [words]
