"""What every family's CLI test needs: the real ``python -m leaklint`` and its findings as tuples."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def runner(select=None):
    """A ``leaklint(*args, cwd=ROOT)`` that runs the real CLI, isolated from any pyproject config."""
    chosen = ["--select", select] if select else []

    def leaklint(*args, cwd=ROOT):
        return subprocess.run([sys.executable, "-m", "leaklint", "--isolated", *chosen, *map(str, args)],
                              cwd=cwd, capture_output=True, text=True, timeout=120)

    return leaklint


def findings(stdout):
    """``path:row:col: CODE ...`` lines -> sorted ``(basename, row, code)``."""
    out = []
    for line in stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit():
            out.append((os.path.basename(parts[0]), int(parts[1]), parts[3].split()[0]))
    return sorted(out)
