"""``leaklint server`` from the command line: its help, and one line when the lsp extra is missing."""

from __future__ import annotations

import subprocess
import sys

HIDE_PYGLS = "import sys; sys.modules['pygls'] = None; from leaklint.cli import main; main(['server'])"


def test_missing_extra_is_one_line_and_exit_2() -> None:
    done = subprocess.run([sys.executable, "-c", HIDE_PYGLS], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "leaklint: error: `leaklint server` needs the lsp extra: pip install 'leaklint[lsp]'"]


def test_server_is_a_listed_subcommand() -> None:
    done = subprocess.run([sys.executable, "-m", "leaklint", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "server" in done.stdout
