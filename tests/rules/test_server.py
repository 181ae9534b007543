"""LL6 through the real CLI on realistic fixtures: exact findings, fixes, a second pass, imports."""

import shutil

import pytest
from _cli import ROOT, findings, runner

FIXTURES = ROOT / "fixtures" / "LL6"


leaklint = runner("LL6")


def test_bad_fixture_findings():
    result = leaklint(*(FIXTURES / n for n in ("middleware_bad.py", "gunicorn_settings_bad.py", "standalone_bad.py")))
    assert result.returncode == 1, result.stderr
    assert findings(result.stdout) == [
        ("gunicorn_settings_bad.py", 5, "LL602"),  # config module detected by its settings
        ("middleware_bad.py", 11, "LL601"),  # self.started = ... in dispatch
        ("middleware_bad.py", 24, "LL601"),  # self.seen_users[user] = ...
        ("middleware_bad.py", 25, "LL601"),  # self.requests += 1
        ("middleware_bad.py", 39, "LL601"),  # pure ASGI: grown in a nested receive wrapper
        ("standalone_bad.py", 24, "LL602"),  # options dict passed to a BaseApplication subclass
        ("standalone_bad.py", 33, "LL602"),  # max_requests without the jitter
    ], result.stdout


def test_ok_fixtures_are_clean():
    result = leaklint(*(FIXTURES / n for n in ("middleware_ok.py", "gunicorn_settings_ok.py", "standalone_ok.py")))
    assert result.returncode == 0, result.stdout
    assert "All checks passed!" in result.stdout


def test_config_file_named_like_gunicorns(tmp_path):
    conf = tmp_path / "gunicorn.conf.py"
    conf.write_text('bind = "0.0.0.0:8000"\ntimeout = 30\n')
    assert findings(leaklint(conf).stdout) == [("gunicorn.conf.py", 1, "LL602")]
    # the same settings under an ordinary name are not enough to call it a gunicorn config
    other = tmp_path / "settings.py"
    other.write_text('bind = "0.0.0.0:8000"\ntimeout = 30\n')
    assert findings(leaklint(other).stdout) == []


@pytest.mark.parametrize("name", ["gunicorn_settings_bad", "standalone_bad"])
def test_fix_matches_expected_and_is_stable(tmp_path, name):
    target = tmp_path / f"{name}.py"
    shutil.copy(FIXTURES / f"{name}.py", target)
    expected = (FIXTURES / f"{name}.fixed.py").read_text()
    leaklint("--fix", target)
    assert target.read_text() == (FIXTURES / f"{name}.py").read_text()  # unsafe: not applied by default
    first = leaklint("--fix", "--unsafe-fixes", target)
    assert first.returncode == 0, first.stdout
    assert target.read_text() == expected
    second = leaklint("--fix", "--unsafe-fixes", target)
    assert second.returncode == 0 and target.read_text() == expected
    compile(expected, str(target), "exec")


def test_fixed_config_is_read_by_gunicorns_rules(tmp_path):
    """The fixed config module sets real values: exec it the way gunicorn's -c loader does."""
    target = tmp_path / "gunicorn_settings_bad.py"
    shutil.copy(FIXTURES / "gunicorn_settings_bad.py", target)
    leaklint("--fix", "--unsafe-fixes", target)
    namespace = {"__file__": str(target)}
    exec(compile(target.read_text(), str(target), "exec"), namespace)
    assert namespace["max_requests"] == 1000 and namespace["max_requests_jitter"] == 50
