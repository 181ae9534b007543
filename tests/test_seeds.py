"""The product's source guidance (`../shared/seeds/`), typed into `fixtures/seeds/`: every example the
seeds show as a leak is reported with the default rules, every example they show as correct stays clean."""

import pytest

from rules._cli import ROOT, findings, runner

SEEDS = ROOT / "fixtures" / "seeds"
leaklint = runner()  # the default rules: no --select

WRONG = {
    "wrong_global_cache.py": "LL201",  # 000 §2: module list appended to, "nunca limpo"
    "wrong_task_callback.py": "LL401",  # 002: the task of subscribe() is dropped
    "wrong_contextvar.py": "LL301",  # 002: ContextVar not reset in a middleware
    "wrong_download.py": "LL502",  # 002: open(file_id, 'rb').read() in a download handler
    "wrong_upload.py": "LL501",  # 002: await file.read() of an UploadFile
    "wrong_user_cache.py": "LL204",  # 002: self.user_cache grows forever on a process-lived service
    "wrong_event_bus.py": "LL204",  # 002: listeners kept by a process-lived bus, subscribed per request
}


@pytest.fixture(scope="module")
def reported():
    result = leaklint(".", cwd=SEEDS)
    assert result.returncode == 1, result.stderr
    return findings(result.stdout)


@pytest.mark.parametrize("name", sorted(WRONG))
def test_every_wrong_example_is_reported(reported, name):
    assert any(path == name and code == WRONG[name] for path, _, code in reported), reported


def test_correct_examples_and_helpers_stay_clean(reported):
    flagged = {path for path, _, _ in reported}
    assert flagged <= set(WRONG), flagged - set(WRONG)
    assert {"correct_services.py", "correct_web.py", "gunicorn.conf.py"}.isdisjoint(flagged)
