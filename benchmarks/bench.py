"""Time leaklint beside its floor (libcst parsing the same files) and its peers, in one run.

    python benchmarks/bench.py DIR [--jobs 2] [--runs 3] [--peers]

Machines are shared and noisy, so the output is ratios of medians, not seconds: every tool runs
in the same session, interleaved round by round. Peak RSS is the largest single process (the
worst worker), from ``getrusage`` of a wrapper process around each command. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))


def python_files(root: str):
    skip = {".git", "__pycache__", ".venv", "node_modules"}
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            if name.endswith((".py", ".pyi")):
                yield os.path.join(directory, name)


def _parse_chunk(paths):
    import libcst

    n = 0
    for path in paths:
        with open(path, "rb") as handle:
            data = handle.read()
        try:
            libcst.parse_module(data)
            n += 1
        except Exception:
            pass
    return n


def floor(root: str, jobs: int) -> int:
    """libcst.parse_module on every file, with the same process count leaklint gets."""
    import libcst  # noqa: F401  warm before fork, as leaklint does

    files = sorted(python_files(root))
    if jobs == 1:
        return _parse_chunk(files)
    size = max(1, min(32, len(files) // (jobs * 8) or 1))
    chunks = [files[i:i + size] for i in range(0, len(files), size)]
    import multiprocessing

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        return sum(pool.map(_parse_chunk, chunks))


def measure(command):
    """Run a command in a child; return (seconds, peak RSS MB of the largest process)."""
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "t=time.perf_counter(); p=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
        "e=time.perf_counter()-t; r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps([e, r/1024, p.returncode]))"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *command], capture_output=True, text=True, check=True)
    seconds, rss, code = json.loads(out.stdout)
    return seconds, rss, code


def tools(root: str, jobs: int, peers: bool, cache_dir: str = ""):
    bindir = os.path.dirname(sys.executable)
    leaklint = shutil.which("leaklint", path=bindir) or "leaklint"
    found = {
        "floor: libcst parse": [sys.executable, os.path.abspath(__file__), "--floor", root, "--jobs", str(jobs)],
        "leaklint": [leaklint, "--exit-zero", "-q", "--isolated", "--no-cache", "--jobs", str(jobs), root],
    }
    if cache_dir:
        cached = [leaklint, "--exit-zero", "-q", "--isolated", "--cache-dir", cache_dir, "--jobs", str(jobs), root]
        found["leaklint warm cache"] = cached
        found["leaklint 1 file changed"] = cached
    if peers:
        fixit = shutil.which("fixit", path=bindir) or shutil.which("fixit")
        if fixit:
            found["fixit"] = [fixit, "lint", root]
        ruff = shutil.which("ruff", path=bindir) or shutil.which("ruff")
        if ruff:
            found["ruff (all rules)"] = [ruff, "check", "--select", "ALL", "--exit-zero", "-q", "--no-cache", root]
        pylint = shutil.which("pylint", path=bindir) or shutil.which("pylint")
        if pylint:
            found["pylint (3 rules)"] = [pylint, "--disable=all", "--enable=W1514,R1732,W0102", f"--jobs={jobs}",
                                         "--exit-zero", root]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peers", action="store_true", help="also time fixit/ruff/pylint when installed")
    parser.add_argument("--cache", action="store_true",
                        help="also time leaklint with a warm cache, and after changing the most imported file")
    parser.add_argument("--floor", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        floor(args.root, args.jobs)
        return
    if args.cache:
        import tempfile

        cache_dir = tempfile.mkdtemp(prefix="leaklint-bench-cache-")
        changed = most_imported(args.root)
        with open(changed, "rb") as handle:
            original = handle.read()
        try:
            run_rounds(args, cache_dir, changed)
        finally:
            with open(changed, "wb") as handle:
                handle.write(original)
            shutil.rmtree(cache_dir, ignore_errors=True)
        return
    run_rounds(args)


def most_imported(root: str) -> str:
    """The module other files import most (``from x.y import`` / ``import x.y``): its change
    re-checks the most dependants, the worst case of a one-file change."""
    import re
    from collections import Counter

    modules = {}
    for path in python_files(root):
        if os.path.basename(path) == "__init__.py":
            continue  # a package's __init__ is rarely the module that changes
        parts = os.path.relpath(path, root)[:-3].split(os.sep)
        if len(parts) > 1 and "-" in parts[0]:  # the corpus's per-wheel folder (open-webui-0.12.4/)
            parts = parts[1:]
        modules[".".join(parts)] = path
    counts: Counter = Counter()
    pattern = re.compile(rb"^\s*(?:from|import)\s+([\w.]+)", re.M)
    for path in modules.values():
        with open(path, "rb") as handle:
            for name in pattern.findall(handle.read()):
                name = name.decode()
                if name in modules:
                    counts[name] += 1
    return modules[counts.most_common(1)[0][0]] if counts else sorted(modules.values())[0]


def run_rounds(args, cache_dir: str = "", changed: str = "") -> None:
    files = list(python_files(args.root))
    lines = 0
    for path in files:
        with open(path, "rb") as handle:
            lines += handle.read().count(b"\n")
    commands = tools(args.root, args.jobs, args.peers, cache_dir)
    times = {name: [] for name in commands}
    peaks = {name: [] for name in commands}
    if cache_dir:
        measure(commands["leaklint warm cache"])  # fill the cache
    for round_ in range(args.runs):
        for name, command in commands.items():
            if name == "leaklint 1 file changed":
                with open(changed, "a", encoding="utf-8") as handle:
                    handle.write(f"\n# benchmark edit {round_}\n")
            seconds, rss, _ = measure(command)
            if name == "leaklint 1 file changed":
                measure(commands["leaklint warm cache"])  # back to warm for the next round's warm run
            times[name].append(seconds)
            peaks[name].append(rss)
    base = statistics.median(times["floor: libcst parse"])
    print(f"{args.root}: {len(files)} files, {lines} lines, jobs={args.jobs}, runs={args.runs} (medians)"
          + (f"; changed file: {os.path.relpath(changed, args.root)}" if changed else ""))
    print(f"{'tool':<24}{'seconds':>10}{'x floor':>10}{'peak RSS MB':>14}")
    for name in commands:
        median = statistics.median(times[name])
        print(f"{name:<24}{median:>10.2f}{median / base:>10.2f}{max(peaks[name]):>14.0f}")


if __name__ == "__main__":
    main()
