"""Serve the demo app with the live dashboard, drive some traffic, screenshot the page in headless Chromium.

The demo app (fixtures/demo_app) has real static findings in its endpoints'
code, so the page shows them next to the measured deltas. Everything stays on
127.0.0.1; the traffic is a bounded number of requests.

    python scripts/dashboard_screenshot.py [--out docs/images/dashboard.png] [--seconds 12]

Needs uvicorn, selenium (the ``test`` extra) and Debian's chromium + chromium-driver.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TOKEN = "screenshot-token-0123456789abcdef"
HOST = "127.0.0.1"


def serve(port: int) -> None:
    sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "fixtures")]
    import uvicorn
    from demo_app.db import Base, engine
    from demo_app.main import app

    from leaklint.runtime import watch

    Base.metadata.create_all(engine)
    watched = watch(app, log_path=os.devnull, level="allocations", interval_seconds=0.5, print_summary=False,
                    dashboard_token=TOKEN, dashboard_refresh_seconds=2,
                    static=os.path.join(ROOT, "fixtures", "demo_app"))
    uvicorn.run(watched, host=HOST, port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "images", "dashboard.png"))
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(args.serve)
        return
    import httpx
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    port = free_port()
    workdir = tempfile.mkdtemp()  # the demo's sqlite file
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--serve", str(port)], cwd=workdir)
    driver = None
    try:
        base = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/users", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        end = time.monotonic() + args.seconds
        with httpx.Client(base_url=base) as client:
            sent = 0
            while time.monotonic() < end and sent < 5000:
                client.get("/users")
                client.get("/users/count")
                if sent % 5 == 0:
                    client.get("/health/db")
                client.get("/no/such/page")
                sent += 1
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                    "--window-size=1200,1500", "--hide-scrollbars"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {"Authorization": "Bearer " + TOKEN}})
        driver.get(base + "/_leaklint")
        time.sleep(1)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        driver.save_screenshot(args.out)
        print(f"wrote {args.out}")
    finally:
        if driver is not None:
            driver.quit()
        proc.terminate()
        proc.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
