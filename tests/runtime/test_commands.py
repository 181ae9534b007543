"""The click commands end to end: exit codes, one-line errors, JSON, report with --static and --html."""

import importlib.util
import json
import os
import re

import pytest
from click.testing import CliRunner

from leaklint.runtime.commands import probe_command, report_command

APPS = os.path.join(os.path.dirname(__file__), "apps")
HAS_API = importlib.util.find_spec("leaklint.api") is not None
FAST = ["--requests", "30", "--warmup", "16", "--app-dir", APPS]


def run(command, args):
    result = CliRunner().invoke(command, args)
    assert "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def probe_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe") / "probe.json"
    result = run(probe_command, ["ll_db_app:app", *FAST, "--output-format", "json", "-o", str(out)])
    assert result.exit_code == 1, result.output  # GET /users leaks
    return out


def test_probe_json_and_exit_code_1_when_leaking(probe_json):
    data = json.loads(probe_json.read_text())
    by_key = {f"{r['method']} {r['route']}": r for r in data["results"]}
    assert by_key["GET /users"]["leaking"] and not by_key["GET /health"]["leaking"]
    assert by_key["GET /users"]["top_sites"][0]["file"].endswith("ll_db.py")


def test_probe_text_and_exit_code_0_when_clean():
    result = run(probe_command, ["ll_leaky_app:app", *FAST, "--endpoint", "GET /clean"])
    assert result.exit_code == 0, result.output
    assert "GET /clean" in result.output and "0 of 1 endpoint(s) leaking" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["no_such_module:app"], "cannot import 'no_such_module'"),
        (["ll_leaky_app:nope"], "has no attribute 'nope'"),
        (["ll_leaky_app"], "MODULE:APP"),
        (["ll_leaky_app:app", "--endpoint", "GET /missing"], "no endpoint GET /missing"),
    ],
)
def test_probe_bad_app_or_endpoint_exits_2_with_one_line(args, message):
    result = run(probe_command, [*args, "--app-dir", APPS])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("r.toml", "[[requests]\n", "not valid TOML"),
        ("r.json", '{"requests": [{"path": "/x", "colour": "red"}]}', "unknown key(s) colour"),
        ("r.json", '{"requests": [{"method": "GET", "path": "no-slash"}]}', "must be a string starting with '/'"),
        ("missing.toml", None, "cannot read requests file"),
    ],
)
def test_probe_bad_requests_file_exits_2(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    result = run(probe_command, ["ll_leaky_app:app", *FAST, "--requests-file", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_report_from_probe_json_with_html(probe_json, tmp_path):
    html_out = tmp_path / "report.html"
    result = run(report_command, [str(probe_json), "--html", str(html_out)])
    assert result.exit_code == 0, result.output
    assert result.output.index("GET /users") < result.output.index("GET /health")  # sorted by growth
    page = html_out.read_text()
    assert page.count("<svg") >= 2 and "GET /users" in page
    assert "<script" not in page and not re.search(r"""(src|href)\s*=\s*["']?https?:""", page)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


@pytest.mark.skipif(not HAS_API, reason="leaklint.api (static engine) not available")
def test_report_joins_static_findings_of_dependencies(probe_json, tmp_path):
    html_out = tmp_path / "report.html"
    result = run(report_command, [str(probe_json), "--static", APPS, "--html", str(html_out)])
    assert result.exit_code == 0, result.output
    import ll_db
    from helpers import line_of

    yield_row = line_of(ll_db, "yield db")
    assert re.search(
        rf"GET /users retains [\d.]+ KB/request; its dependency get_db has .*LL101 at ll_db.py:{yield_row}", result.output
    ), result.output
    page = html_out.read_text()
    assert "LL101" in page and "get_db" in page
    # The clean endpoint gets no findings attached.
    assert "GET /health retains" not in result.output


def test_report_from_watch_log(tmp_path):
    from helpers import Recorder

    import ll_leaky_app
    from leaklint.runtime import watch

    log = tmp_path / "w.jsonl"
    app = watch(ll_leaky_app.app, log_path=log, interval_seconds=0.05, print_summary=False)
    with Recorder(app) as rec:
        for _ in range(3):
            rec.request("GET", "/leak")
    html_out = tmp_path / "w.html"
    result = run(report_command, [str(log), "--html", str(html_out)])
    assert result.exit_code == 0, result.output
    assert "RSS baseline" in result.output and "GET /leak" in result.output
    assert "RSS over time" in html_out.read_text()


def test_report_bad_input_exits_2(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("hello\n")
    result = run(report_command, [str(bad)])
    assert result.exit_code == 2 and result.output.startswith("error: "), result.output
    result = run(report_command, [str(tmp_path / "missing.json")])
    assert result.exit_code == 2
