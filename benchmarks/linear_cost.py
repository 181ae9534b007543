"""Is leaklint's cost linear in file size and in the number of findings (fixes included)?

    python benchmarks/linear_cost.py [--sizes 1000,2000,4000,8000,16000] [--modes check,json,fix]

Generates one module of N functions, in two twins of the same size: *leaky* (every function a
``get_db`` dependency that yields a session without ``finally``: N LL101 findings, each with a
safe fix) and *clean* (the same functions closing the session in ``finally``: no finding). Each
is linted in its own process (one job, no cache) as ``check`` (concise output), ``json`` (every
fix's edits computed) and ``fix`` (the fixes applied and the file re-linted). Printed: seconds
and peak RSS per run, seconds per 1,000 functions, the growth of that from the smallest to the
largest N (1.0 = linear), and leaky / clean at each N. Not a test: shared machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HEADER = "from sqlalchemy.orm import sessionmaker\n\nSessionLocal = sessionmaker()\n"
LEAKY = "\n\ndef get_db_{i}():\n    db = SessionLocal()\n    yield db\n    db.close()\n"
CLEAN = "\n\ndef get_db_{i}():\n    db = SessionLocal()\n    try:\n        yield db\n    finally:\n        db.close()\n"


def module(n: int, leaky: bool) -> str:
    body = LEAKY if leaky else CLEAN
    return HEADER + "".join(body.format(i=i) for i in range(n))


def measure(path: str, mode: str):
    args = [sys.executable, "-m", "leaklint", "--isolated", "--no-cache", "-j", "1", "--exit-zero", "-q"]
    if mode == "json":
        args += ["--output-format", "json"]
    elif mode == "fix":
        args += ["--fix"]
    wrapper = (
        "import resource, subprocess, sys, time, json;"
        "t=time.perf_counter(); p=subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
        "e=time.perf_counter()-t; r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(json.dumps([e, r/1024, p.returncode]))"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *args, path], capture_output=True, text=True, check=True)
    seconds, rss, code = json.loads(out.stdout)
    if code not in (0, 1):
        raise SystemExit(f"leaklint failed on {path} ({mode}): exit {code}")
    return seconds, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,2000,4000,8000,16000")
    parser.add_argument("--modes", default="check,json,fix")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    work = tempfile.mkdtemp(prefix="leaklint-linear-")
    rows = {}
    try:
        for n in sizes:
            for leaky in (False, True):
                source = module(n, leaky)
                for mode in modes:
                    path = os.path.join(work, f"{'leaky' if leaky else 'clean'}_{n}_{mode}.py")
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(source)  # a fresh copy per run: --fix rewrites it
                    rows[(n, leaky, mode)] = measure(path, mode)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'functions':>9} {'twin':>6} {'mode':>6} {'seconds':>8} {'s/1k fn':>8} {'peak MB':>8}")
    for (n, leaky, mode), (seconds, rss) in sorted(rows.items()):
        print(f"{n:>9} {'leaky' if leaky else 'clean':>6} {mode:>6} {seconds:>8.2f} {seconds / n * 1000:>8.3f} {rss:>8.0f}")
    print()
    lo, hi = sizes[0], sizes[-1]
    print(f"growth of s/1k fn from {lo} to {hi} functions (1.00 = linear), and leaky / clean:")
    for mode in modes:
        for leaky in (False, True):
            a, b = rows[(lo, leaky, mode)][0] / lo, rows[(hi, leaky, mode)][0] / hi
            print(f"  {mode:>6} {'leaky' if leaky else 'clean':>6}: time {b / a:5.2f}   memory "
                  f"{rows[(hi, leaky, mode)][1] / rows[(lo, leaky, mode)][1]:5.2f}x for {hi // lo}x the size")
        ratios = ", ".join(f"{n}: {rows[(n, True, mode)][0] / rows[(n, False, mode)][0]:.2f}" for n in sizes)
        print(f"  {mode:>6} leaky / clean at each size: {ratios}")


if __name__ == "__main__":
    main()
