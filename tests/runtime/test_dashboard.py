"""The live dashboard: token-only, escaped, self-refreshing; in-process and in a real headless browser."""

import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import ll_dashboard_app
import live_server
from helpers import Recorder, line_of
from leaklint.runtime import watch

TOKEN = "t0ken-for-tests-0123456789abcdef"
BEARER = [(b"authorization", b"Bearer " + TOKEN.encode())]
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def small_app():
    async def hello(request):
        return PlainTextResponse("hi")

    return Starlette(routes=[Route("/hello", hello)])


def body_of(sent):
    return b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def headers_of(sent):
    return {k.lower(): v for k, v in sent[0]["headers"]}


@pytest.mark.parametrize(
    "token, message",
    [
        ("", "dashboard_token must be a non-empty string; the dashboard is never served without one"),
        ("short", "dashboard_token must be at least 16 characters (use secrets.token_urlsafe())"),
        ("with a space 0123456789", "dashboard_token must not contain whitespace"),
    ],
)
def test_a_weak_token_is_refused_with_one_line(token, message):
    with pytest.raises(ValueError) as err:
        watch(small_app(), log_path=os.devnull, dashboard_token=token)
    assert str(err.value) == message


@pytest.mark.parametrize("path", ["/", "_leaklint", ""])
def test_a_dashboard_path_of_no_use_is_refused(path):
    with pytest.raises(ValueError) as err:
        watch(small_app(), log_path=os.devnull, dashboard_token=TOKEN, dashboard_path=path)
    assert str(err.value) == f"dashboard_path must start with '/' and name a path of its own, not {path!r}"


def test_no_token_no_dashboard_and_wrong_tokens_get_the_apps_own_404():
    app = watch(small_app(), log_path=os.devnull, interval_seconds=0.05, print_summary=False, dashboard_token=TOKEN)
    plain = watch(small_app(), log_path=os.devnull, interval_seconds=0.05, print_summary=False)
    with Recorder(plain) as rec:
        assert rec.request("GET", "/_leaklint", headers=BEARER)[0]["status"] == 404  # never on without a token
    with Recorder(app) as rec:
        unknown = rec.request("GET", "/no-such-page")
        for headers in ([], [(b"authorization", b"Bearer " + TOKEN.encode()[:-1] + b"X")],
                        [(b"authorization", b"Basic " + TOKEN.encode())], [(b"authorization", TOKEN.encode())],
                        [(b"authorization", b"Bearer " + TOKEN.encode() + b"extra")]):
            sent = rec.request("GET", "/_leaklint", headers=headers)
            assert sent[0]["status"] == 404
            assert body_of(sent) == body_of(unknown)  # the path does not reveal itself
        assert rec.request("POST", "/_leaklint", headers=BEARER)[0]["status"] == 404
        page = rec.request("GET", "/_leaklint/", headers=[(b"authorization", b"bearer  " + TOKEN.encode())])
        head = rec.request("HEAD", "/_leaklint", headers=BEARER)
        rec.request("GET", "/hello")
    assert page[0]["status"] == 200 and b"<h1>leaklint live</h1>" in body_of(page)
    headers = headers_of(page)
    assert headers[b"content-type"] == b"text/html; charset=utf-8"
    assert b"default-src 'none'" in headers[b"content-security-policy"] and headers[b"cache-control"] == b"no-store"
    assert head[0]["status"] == 200 and body_of(head) == b""
    rows = {e["key"]: e["calls"] for e in app._endpoint_rows()}
    assert rows == {"UNMATCHED": 7, "GET /hello": 1}  # the dashboard's own answers are not counted


def test_page_escapes_routes_and_joins_static_findings(tmp_path):
    leak_line = line_of(ll_dashboard_app, "HELD.append")
    report = tmp_path / "static.json"
    report.write_text(json.dumps([{
        "code": "LL201", "name": "unbounded-module-container", "filename": ll_dashboard_app.__file__,
        "location": {"row": leak_line, "column": 5}, "message": "list <b>HELD</b> grows & grows",
    }]))
    app = watch(ll_dashboard_app.inner, log_path=os.devnull, level="allocations", interval_seconds=0.05,
                print_summary=False, dashboard_token=TOKEN, static=str(report))
    with Recorder(app) as rec:
        for path in ("/leak", "/leak", "/clean", ll_dashboard_app.HOSTILE_SCRIPT):
            assert rec.request("GET", path)[0]["status"] == 200
        deadline = time.monotonic() + 20
        while True:
            html = body_of(rec.request("GET", "/_leaklint", headers=BEARER)).decode()
            if "linting " not in html or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert "<script" not in html and "<b>HELD" not in html
    assert "GET /evil/&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in html
    assert "list &lt;b&gt;HELD&lt;/b&gt; grows &amp; grows" in html
    leak_row = next(r for r in html.split("<tr") if "GET /leak<" in r)
    assert "LL201" in leak_row and "leak" in leak_row
    assert '<td class="num calls">2</td>' in leak_row
    assert "<polyline" in html.split('id="rss-chart"')[1].split("</div>")[0]
    assert 'id="sites"' in html and "ll_dashboard_app.py" in html  # the leak's allocation site


def test_static_path_runs_the_linter_and_shows_findings_per_endpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the demo app's sqlite file lands here
    monkeypatch.syspath_prepend(os.path.join(ROOT, "fixtures"))
    from demo_app.main import app as demo

    app = watch(demo, log_path=os.devnull, interval_seconds=0.05, print_summary=False, dashboard_token=TOKEN,
                static=os.path.join(ROOT, "fixtures", "demo_app"))
    with Recorder(app) as rec:
        assert rec.request("GET", "/health/db")[0]["status"] == 200
        deadline = time.monotonic() + 60
        while True:
            html = body_of(rec.request("GET", "/_leaklint", headers=BEARER)).decode()
            if "linting " not in html or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    row = next(r for r in html.split("<tr") if "GET /health/db" in r)
    assert "<b>LL104</b>" in row and "main.py:28" in row and "db_health" in row


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.json", '{"not": "a list"}', "ValueError: not a list of findings (write it with leaklint --output-format json)"),
        ("missing", None, "FileNotFoundError: no such path: {path}"),
    ],
)
def test_a_bad_static_source_is_shown_as_one_line(tmp_path, name, content, message):
    report = tmp_path / name
    if content is not None:
        report.write_text(content)
    app = watch(small_app(), log_path=os.devnull, interval_seconds=0.05, print_summary=False,
                dashboard_token=TOKEN, static=str(report))
    with Recorder(app) as rec:
        rec.request("GET", "/hello")
        deadline = time.monotonic() + 10
        while "static findings unavailable" not in (html := body_of(rec.request("GET", "/_leaklint", headers=BEARER)).decode()):
            assert time.monotonic() < deadline, html
            time.sleep(0.05)
    assert f'<p class="note">static findings unavailable: {message.format(path=report)}</p>' in html


# ---------------------------------------------------------------- in a real headless browser
HOSTILE_SCRIPT_URL = "/evil/%3Cscript%3Ewindow.__pwned%20=%201%3C/script%3E"
HOSTILE_IMG_URL = "/img/%3Cimg%20src=x%20onerror=window.__pwned=2%3E"


@pytest.fixture
def dashboard_server(tmp_path):
    live_server.require_module("uvicorn")
    leak_line = line_of(ll_dashboard_app, "HELD.append")
    report = tmp_path / "static.json"
    report.write_text(json.dumps([{
        "code": "LL201", "name": "unbounded-module-container", "filename": ll_dashboard_app.__file__,
        "location": {"row": leak_line, "column": 5},
        "message": "module list <img src=x onerror=window.__pwned=3> only grows",
    }]))
    port = live_server.free_port()
    env = live_server.server_env(LL_DASHBOARD_TOKEN=TOKEN, LL_STATIC=report, LL_WATCH_LOG_DIR=tmp_path,
                                 LL_DASHBOARD_REFRESH=1)
    args = [live_server.python(), "-m", "uvicorn", "ll_dashboard_app:app", "--host", live_server.HOST,
            "--port", str(port), "--log-level", "warning"]
    proc = live_server.start(args, env, tmp_path / "uvicorn.log")
    try:
        live_server.wait_ready(port, proc)
        yield f"http://{live_server.HOST}:{port}"
    finally:
        live_server.stop(proc)


@pytest.fixture
def browser():
    chromium = live_server.chromium_path()
    live_server.require(chromium, "chromium is not installed (apt-get install chromium chromium-driver)")
    driver_path = live_server.which("chromedriver")
    live_server.require(driver_path, "chromedriver is not installed (apt-get install chromium-driver)")
    live_server.require_module("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1400", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    driver.execute_cdp_cmd("Network.enable", {})
    try:
        yield driver
    finally:
        driver.quit()


def send_token(driver, value):
    """What a header-adding proxy or extension does: every request of the page carries the header."""
    headers = {"Authorization": value} if value else {}
    driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})


SNAPSHOT_JS = """
const rows = {};
for (const row of document.querySelectorAll('#endpoints tr.endpoint')) {
  rows[row.querySelector('td.key').textContent] = {
    calls: parseInt(row.querySelector('td.calls').textContent, 10), text: row.innerText};
}
const svg = document.querySelector('#rss-chart svg');
const line = document.querySelector('#rss-chart polyline');
return {title: document.title, rows: rows, scripts: document.getElementsByTagName('script').length,
        imgs: document.getElementsByTagName('img').length, pwned: window.__pwned === undefined ? null : window.__pwned,
        chart: svg ? [svg.getBoundingClientRect().width, svg.getBoundingClientRect().height] : null,
        points: line ? line.getAttribute('points').trim().split(/\\s+/).length : 0,
        endpointsText: (document.getElementById('endpoints') || {innerText: ''}).innerText,
        body: document.body ? document.body.innerText : ''};
"""


def snapshot(driver):
    """Everything the test reads from the page, in one evaluation: the page reloads itself every second."""
    from selenium.common.exceptions import WebDriverException

    for attempt in range(10):
        try:
            page = driver.execute_script(SNAPSHOT_JS)
            if page is not None:
                return page
        except WebDriverException:
            if attempt == 9:
                raise
        time.sleep(0.1)
    raise AssertionError("the page could not be read")


def endpoint_calls(driver):
    return {key: row["calls"] for key, row in snapshot(driver)["rows"].items()}


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_dashboard_in_a_real_browser(dashboard_server, browser, tmp_path):
    base = dashboard_server
    with httpx.Client(base_url=base, timeout=20) as client:
        for path, n in (("/leak", 5), ("/clean", 3), (HOSTILE_SCRIPT_URL, 1), (HOSTILE_IMG_URL, 1)):
            for _ in range(n):
                assert client.get(path).status_code == 200

        send_token(browser, "Bearer " + TOKEN)
        browser.get(base + "/_leaklint")
        page = snapshot(browser)
        assert page["title"] == "leaklint live"
        calls = {key: row["calls"] for key, row in page["rows"].items()}
        assert calls["GET /leak"] == 5 and calls["GET /clean"] == 3
        # hostile route templates are shown as text, and nothing they contain ran or became an element
        assert calls[f"GET {ll_dashboard_app.HOSTILE_SCRIPT}"] == 1
        assert calls[f"GET {ll_dashboard_app.HOSTILE_IMG}"] == 1
        assert (page["scripts"], page["imgs"], page["pwned"]) == (0, 0, None)
        # the static finding joined to GET /leak, its hostile message as text
        page = wait_for(lambda: (lambda p: p if "LL201" in p["endpointsText"] else None)(snapshot(browser)),
                        what="the static findings")
        assert "module list <img src=x onerror=window.__pwned=3> only grows" in page["rows"]["GET /leak"]["text"]
        assert (page["scripts"], page["imgs"], page["pwned"]) == (0, 0, None)
        # the RSS chart: an SVG with a line over the samples taken so far
        assert page["chart"][0] > 500 and page["chart"][1] > 200
        wait_for(lambda: snapshot(browser)["points"] >= 3, what="three RSS samples in the chart")

        # it refreshes itself: new requests show up without the test reloading the page
        for _ in range(4):
            assert client.get("/leak").status_code == 200
        wait_for(lambda: endpoint_calls(browser).get("GET /leak") == 9, timeout=15, what="the page's own refresh")
        browser.save_screenshot(str(tmp_path / "dashboard.png"))
        assert (tmp_path / "dashboard.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        # without the token, or with a wrong one, the path is just one more unknown URL
        unknown = client.get("/no-such-page")
        for header in (None, "Bearer wrong-token-0123456789abcdef", "Basic " + TOKEN):
            r = client.get("/_leaklint", headers={"Authorization": header} if header else {})
            assert (r.status_code, r.text) == (404, unknown.text)
            send_token(browser, header)
            browser.get(base + "/_leaklint")
            page = snapshot(browser)
            assert page["title"] != "leaklint live" and page["body"] == unknown.text
