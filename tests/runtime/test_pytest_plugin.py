"""The pytest plugin, run by pytest's own pytester on leaking and clean tests: pass, fail, report-only."""

import os

pytest_plugins = ("pytester",)

APPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "apps")

TESTS = '''
import os
import threading

import pytest

KEPT = []
STOP = threading.Event()
FDS = []


@pytest.fixture(scope="module", autouse=True)
def give_back():
    yield
    STOP.set()
    for fd in FDS:
        os.close(fd)


@pytest.mark.leaklint(runs=10)
def test_clean():
    data = [bytearray(4096) for _ in range(10)]
    assert len(data) == 10


@pytest.mark.leaklint(runs=10)
def test_keeps_bytes():
    KEPT.append(bytearray(8192))


@pytest.mark.leaklint(runs=10, max_bytes_per_run=100_000)
def test_keeps_bytes_within_budget():
    KEPT.append(bytearray(8192))


@pytest.mark.leaklint(runs=10)
def test_leaks_fds():
    FDS.append(os.open(os.devnull, os.O_RDONLY))


@pytest.mark.leaklint(runs=10, max_bytes_per_run=100_000)
def test_leaks_threads():
    threading.Thread(target=STOP.wait, daemon=True).start()


CALLS = []


@pytest.mark.leaklint(runs=10, warmup=2)
def test_body_is_looped(tmp_path):
    CALLS.append(tmp_path)


def test_unmarked_runs_once():
    KEPT.append(bytearray(8192))
    CALLS.append("unmarked")


def test_counts():
    assert len([c for c in CALLS if c != "unmarked"]) == 12 and len(set(map(str, CALLS[:12]))) == 1
'''


def _run(pytester, request, *args):
    pytester.makepyfile(test_budgets=TESTS)
    plugin = [] if request.config.pluginmanager.has_plugin("leaklint") else ["-p", "leaklint.pytest_plugin"]
    return pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", "-p", "no:xdist", *args)


def test_marker_fails_leaking_tests_with_one_line_naming_what_grew(pytester, request):
    result = _run(pytester, request)
    result.assert_outcomes(passed=5, failed=3)
    out = result.stdout.str()
    for name, grew in (
        ("test_keeps_bytes", "traced memory +8."),
        ("test_leaks_fds", "fds +1.00/run (budget 0"),
        ("test_leaks_threads", "threads +1.00/run (budget 0"),
    ):
        assert f"leaklint: {name} grew over 10 runs: {grew}" in out, out
    assert "FAILED test_budgets.py::test_keeps_bytes_within_budget" not in out
    assert "FAILED test_budgets.py::test_clean" not in out


def test_report_only_warns_instead_of_failing(pytester, request):
    result = _run(pytester, request, "--leaklint-report-only")
    result.assert_outcomes(passed=8, warnings=3)
    assert "LeaklintWarning: leaklint: test_leaks_fds grew over 10 runs: fds +1.00/run" in result.stdout.str()


def test_ini_sets_the_default_budget_and_report_only(pytester, request):
    pytester.makeini("[pytest]\nleaklint_max_bytes_per_run = 100000\nleaklint_fds = 5\n")
    result = _run(pytester, request)
    result.assert_outcomes(passed=7, failed=1)  # only the threads test is still over its budget
    assert "test_leaks_threads grew" in result.stdout.str()
    pytester.makeini("[pytest]\nleaklint_report_only = true\n")
    _run(pytester, request).assert_outcomes(passed=8, warnings=3)


def test_bad_marker_arguments_are_usage_errors(pytester, request):
    pytester.makepyfile(test_bad='import pytest\n\n@pytest.mark.leaklint(rnus=3)\ndef test_x():\n    pass\n')
    plugin = [] if request.config.pluginmanager.has_plugin("leaklint") else ["-p", "leaklint.pytest_plugin"]
    result = pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", "-p", "no:xdist")
    assert "@pytest.mark.leaklint takes keywords" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_probe_fixture_fails_on_a_leaking_endpoint(pytester, request):
    pytester.makepyfile(test_app=f'''
import sys
sys.path.insert(0, {APPS!r})
import ll_resource_app


def test_clean_endpoint(leaklint_probe):
    report = leaklint_probe(ll_resource_app.app, endpoint="GET /fds/clean", requests=30, warmup=5)
    assert not report.leaking


def test_leaking_endpoint(leaklint_probe):
    try:
        leaklint_probe(ll_resource_app.app, endpoint="GET /fds/leak", requests=30, warmup=5)
    finally:
        ll_resource_app.release()
''')
    plugin = [] if request.config.pluginmanager.has_plugin("leaklint") else ["-p", "leaklint.pytest_plugin"]
    result = pytester.runpytest_subprocess(*plugin, "-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    assert "leaklint: GET /fds/leak: LEAKING" in result.stdout.str() and "fds +1.00/request" in result.stdout.str()
