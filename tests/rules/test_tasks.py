"""LL4 through the real CLI on realistic fixtures: exact findings, the fix, a second pass, imports."""

import importlib.util
import shutil

from _cli import ROOT, findings, runner

FIXTURES = ROOT / "fixtures" / "LL4"


leaklint = runner("LL4")


def test_bad_fixture_findings():
    result = leaklint(FIXTURES / "tasks_bad.py")
    assert result.returncode == 1, result.stderr
    assert findings(result.stdout) == [
        ("tasks_bad.py", 28, "LL401"),  # lifespan: dropped ...
        ("tasks_bad.py", 28, "LL403"),  # ... and an endless loop never cancelled
        ("tasks_bad.py", 37, "LL401"),  # expression statement
        ("tasks_bad.py", 43, "LL401"),  # alias, bound and only given a done-callback
        ("tasks_bad.py", 50, "LL401"),  # get_running_loop().create_task(...).add_done_callback(...)
        ("tasks_bad.py", 56, "LL401"),  # `_ = ensure_future(...)`
        ("tasks_bad.py", 62, "LL402"),  # module-level list never pruned
        ("tasks_bad.py", 71, "LL402"),  # instance set never pruned
    ], result.stdout


def test_ok_fixture_is_clean():
    result = leaklint(FIXTURES / "tasks_ok.py")
    assert result.returncode == 0, result.stdout
    assert findings(result.stdout) == []


def test_fix_matches_expected_and_is_stable(tmp_path):
    target = tmp_path / "tasks_bad.py"
    shutil.copy(FIXTURES / "tasks_bad.py", target)
    expected = (FIXTURES / "tasks_bad.fixed.py").read_text()
    leaklint("--fix", target)  # safe fixes only: LL401's fix is unsafe, nothing changes
    assert target.read_text() == (FIXTURES / "tasks_bad.py").read_text()
    first = leaklint("--fix", "--unsafe-fixes", target)
    assert target.read_text() == expected
    # LL402 and LL403 have no fix; LL401 is gone everywhere
    assert findings(first.stdout) == [("tasks_bad.py", 30, "LL403"), ("tasks_bad.py", 75, "LL402"),
                                      ("tasks_bad.py", 84, "LL402")], first.stdout
    second = leaklint("--fix", "--unsafe-fixes", target)
    assert target.read_text() == expected
    assert findings(second.stdout) == findings(first.stdout)
    # the fixed module imports (FastAPI app, lifespan and all)
    spec = importlib.util.spec_from_file_location("tasks_bad_fixed", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module._background_tasks == set()


def test_ruf006_cases_are_all_reported(tmp_path):
    """Every shape ruff's RUF006 reports for these calls is an LL401 finding too."""
    source = tmp_path / "ruf006.py"
    source.write_text(
        "import asyncio\n"
        "from asyncio import ensure_future\n"
        "\n"
        "async def main(coro, loop):\n"
        "    asyncio.create_task(coro())\n"  # 5: statement
        "    asyncio.ensure_future(coro())\n"  # 6
        "    ensure_future(coro())\n"  # 7: from-import
        "    task = asyncio.create_task(coro())\n"  # 8: unused binding
        "    loop = asyncio.get_running_loop()\n"
        "    loop.create_task(coro())\n"  # 10: loop method
    )
    result = leaklint("--select", "LL401", source)
    assert findings(result.stdout) == [("ruf006.py", n, "LL401") for n in (5, 6, 7, 8, 10)], result.stdout


def test_cross_module_reexport_and_endless_loop(tmp_path):
    crossmodule = FIXTURES / "crossmodule"
    result = leaklint("crossmodule", cwd=FIXTURES)
    # `spawn` is asyncio's create_task re-exported by compat.py; sweep_sessions loops in workers.py
    assert findings(result.stdout) == [("main.py", 11, "LL403"), ("main.py", 12, "LL401")], result.stdout
    # linted alone, main.py cannot know what `spawn` is: no guess
    alone = leaklint("crossmodule/shop/main.py", cwd=FIXTURES)
    assert findings(alone.stdout) == [], alone.stdout
    target = tmp_path / "crossmodule"
    shutil.copytree(crossmodule, target)
    leaklint("--fix", "--unsafe-fixes", target)
    again = leaklint("--fix", "--unsafe-fixes", target)
    for path in sorted((FIXTURES / "crossmodule.fixed").rglob("*.py")):
        fixed = target / path.relative_to(FIXTURES / "crossmodule.fixed")
        assert fixed.read_text() == path.read_text(), fixed
        compile(fixed.read_text(), str(fixed), "exec")
    assert findings(again.stdout) == [("main.py", 13, "LL403")], again.stdout


LIFETIMES = FIXTURES / "lifetimes"


def test_callbacks_class_sets_and_per_request_loops_across_modules():
    result = leaklint(".", cwd=LIFETIMES)
    assert result.returncode == 1, result.stderr
    assert findings(result.stdout) == [
        ("main.py", 29, "LL401"),  # lambda given to app.add_event_handler
        ("retry.py", 12, "LL401"),  # lambda given to fut.add_done_callback
        ("scheduler.py", 8, "LL401"),  # dropped ...
        ("scheduler.py", 8, "LL403"),  # ... and started per request: POST /jobs -> start_watch()
        ("scheduler.py", 15, "LL402"),  # class-level set only ever added to
    ], result.stdout
    assert "(POST /jobs -> `start_watch()`): every request adds one more loop" in result.stdout
    # not reported: the shutdown task a signal handler's lambda spawns (main.py:22, once, as the
    # process stops), tg.create_task in a lambda (the TaskGroup owns it), the retry callback that keeps
    # its task in a self-pruning set, the Batch whose tasks are gathered


def test_callback_tasks_get_no_fix(tmp_path):
    target = tmp_path / "lifetimes"
    shutil.copytree(LIFETIMES, target)
    leaklint("--fix", "--unsafe-fixes", ".", cwd=target)
    assert (target / "svc" / "main.py").read_text() == (LIFETIMES / "svc" / "main.py").read_text()
    assert (target / "svc" / "retry.py").read_text() == (LIFETIMES / "svc" / "retry.py").read_text()
    fixed = (target / "svc" / "scheduler.py").read_text()
    assert "_background_tasks.add(task)" in fixed  # the plain dropped task is fixed as before
    after = [f for f in findings(leaklint(".", cwd=target).stdout) if f[0] == "scheduler.py"]
    assert after == [("scheduler.py", 10, "LL403"), ("scheduler.py", 19, "LL402")]  # kept, but never cancelled
