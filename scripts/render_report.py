"""Render the runtime HTML report in headless Chromium and save a screenshot.

Checks that the self-contained report really renders in a browser (no network:
Chromium runs with background networking disabled and the page has nothing to
fetch). Without ``--html`` it first builds a demo report: ``probe`` on the test
apps in tests/runtime/apps, joined with leaklint's static findings.

    python scripts/render_report.py [--html report.html] [--out docs/images/report.png]

Needs Chromium from Debian: ``apt-get install -y chromium``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
APPS = os.path.join(ROOT, "tests", "runtime", "apps")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
]


def build_demo(workdir: str) -> str:
    """Probe the demo apps, join static findings, write the HTML; returns its path."""
    sys.path[:0] = [os.path.join(ROOT, "src"), APPS]
    os.chdir(ROOT)  # relative paths in the report, like a CI run from the repo root
    import ll_db_app
    import ll_leaky_app
    from leaklint.runtime import probe
    from leaklint.runtime.html_report import render
    from leaklint.runtime.report import load

    upload = [{"method": "POST", "path": "/upload", "upload": {"filename": "a.txt", "content": "hello" * 100}}]
    results = probe(ll_leaky_app.app, endpoint=["GET /leak", "GET /leak-dep", "GET /clean", "GET /stream", "POST /upload"],
                    requests_file=upload, requests=100).to_records()
    results += probe(ll_db_app.app, requests=100).to_records()
    probe_json = os.path.join(workdir, "probe.json")
    with open(probe_json, "w", encoding="utf-8") as fh:
        json.dump({"leaklint_probe": 1, "results": results}, fh)
    rep = load(probe_json)
    rep.source = "probe of tests/runtime/apps (ll_leaky_app, ll_db_app)"
    try:
        from leaklint.runtime.join import static_findings

        rep.static_paths = [os.path.relpath(APPS)]
        rep.join(static_findings(rep.static_paths))
    except ImportError:
        print("leaklint.api missing: report without static findings", file=sys.stderr)
    out = os.path.join(workdir, "report.html")
    with open(out, "w", encoding="utf-8") as fh:
        fh.write(render(rep))
    return out


def screenshot(html_path: str, png_path: str, width: int, height: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found: apt-get update && apt-get install -y chromium")
    target = os.path.abspath(png_path)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={target}",
               f"--window-size={width},{height}", "file://" + os.path.abspath(html_path)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    print(f"wrote {target} ({os.path.getsize(target) // 1024} KB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", help="an existing report; default: build the demo report")
    ap.add_argument("--out", default="out.png")
    ap.add_argument("--keep-html", help="also copy the demo HTML here")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=1600)
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    with tempfile.TemporaryDirectory() as workdir:
        html_path = os.path.abspath(args.html) if args.html else build_demo(workdir)
        if args.keep_html:
            shutil.copyfile(html_path, args.keep_html)
        screenshot(html_path, out, args.width, args.height)


if __name__ == "__main__":
    main()
