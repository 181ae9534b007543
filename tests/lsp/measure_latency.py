"""Latency of a diagnostic refresh in ``leaklint server`` on a large workspace (not a test).

    python tests/lsp/measure_latency.py /tmp/corpus-big prefect-3.9.1/prefect/server/api/flows.py

Opens FOLDER as the workspace (the server summarises every module on disk, then reduces), waits for
the load, then times edits of FILE (no debounce): from ``didChange`` to the ``publishDiagnostics`` of
that version, for an edit inside a function body and for one that adds a module-level function.
"""

from __future__ import annotations

import ast
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.lsp.driver import Editor  # noqa: E402

ROUNDS = 7


async def measure(folder: Path, name: str) -> None:
    started = time.perf_counter()
    editor = await Editor(folder, debounce_ms=0).start()
    try:
        uri = editor.open(name)
        await editor.diagnostics(uri, timeout=600)
        first = time.perf_counter() - started
        while not any("modules of" in line for line in editor.logs):
            await asyncio.sleep(0.2)
        loaded = time.perf_counter() - started
        await editor.diagnostics(uri, timeout=600)
        print(f"workspace: {editor.logs[-1]}; first diagnostics after {first:.1f} s, workspace facts after "
              f"{loaded:.1f} s")
        text = editor.texts[uri]
        lines = text.splitlines(keepends=True)
        function = next(n for n in ast.walk(ast.parse(text)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
        statement = next(n for n in function.body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)))
        body, indent = statement.lineno - 1, " " * statement.col_offset
        for label, edit in (
                ("edit in a function body", lambda k: "".join(lines[:body] + [f"{indent}_probe_{k} = {k}\n"]
                                                               + lines[body:])),
                ("new module-level function", lambda k: text + f"\n\ndef _probe_{k}():\n    return {k}\n")):
            timings = []
            for k in range(ROUNDS):
                t0 = time.perf_counter()
                editor.change(uri, edit(k))
                found = await editor.diagnostics(uri, timeout=600)
                timings.append(time.perf_counter() - t0)
                assert not any(d.code == "LL001" for d in found), "the edit must keep the file valid"
            print(f"{label}: median {statistics.median(timings) * 1000:.0f} ms, "
                  f"max {max(timings) * 1000:.0f} ms over {ROUNDS} edits ({len(lines)} lines)")
        print(f"server memory: {rss_mb(editor.client._server.pid):.0f} MB RSS")
    finally:
        await editor.stop()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


if __name__ == "__main__":
    asyncio.run(measure(Path(sys.argv[1]).resolve(), sys.argv[2]))
