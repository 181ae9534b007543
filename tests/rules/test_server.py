"""LL6 through the real CLI on realistic fixtures: exact findings, fixes, a second pass, imports."""

import json
from pathlib import Path
import shutil
import subprocess
import sys

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


# -- LL602 where the command line lives: Dockerfile, Procfile, compose, Kubernetes, scripts ---------

DEPLOYMENT = FIXTURES / "deployment_bad"
APP = {"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n"}
leaklint_602 = runner("LL602")


def _project(tmp_path, files):
    for name, text in {**APP, **files}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def _rows(result):
    """``(path relative to the project, row, col)`` of each LL602 finding."""
    out = []
    for line in result.stdout.splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit() and "LL602" in parts[3]:
            out.append((parts[0], int(parts[1]), int(parts[2])))
    return sorted(out)


def test_deployment_files_of_a_project():
    result = leaklint_602(".", cwd=DEPLOYMENT)
    assert result.returncode == 1, result.stderr
    assert _rows(result) == [
        ("Dockerfile", 8, 6),  # exec-form CMD
        ("Dockerfile", 13, 6),  # CMD after an entrypoint script; --max-requests 0 disables recycling
        ("Dockerfile", 16, 10),  # shell form over three lines: only the jitter is missing
        ("Procfile", 1, 6),
        ("deploy/k8s/deployment.yaml", 11, 22),  # command + args; GUNICORN_CMD_ARGS without the flag
        ("docker-compose.yml", 4, 14),  # command: as a string
        ("docker-compose.yml", 9, 32),  # command: as a list, through python -m
        ("scripts/start.sh", 5, 10),  # -c names a hooks-only config
    ], result.stdout
    assert "gunicorn command without `--max-requests-jitter`:" in result.stdout
    # not reported: Dockerfile.dev, the sh -c service that sets both flags, the `# noqa: LL602` service,
    # `pip install gunicorn`, `alembic upgrade head`, `exec "$@"`


def test_a_stale_deployment_file_whose_application_module_is_gone_is_not_judged(tmp_path):
    project = _project(tmp_path, {
        "Procfile": "web: uvicorn app.main:app --host 0.0.0.0\n",
        "backend/Procfile": "web: uvicorn backend.server.server:app --host 0.0.0.0\n",
        "legacy/Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "old.api:app"]\n',
    })
    result = leaklint_602(".", cwd=project)
    assert _rows(result) == [("Procfile", 1, 6)], result.stdout


def test_fix_never_touches_deployment_files(tmp_path):
    target = tmp_path / "project"
    shutil.copytree(DEPLOYMENT, target)
    def contents():
        return {p: p.read_bytes() for p in target.rglob("*") if p.is_file() and ".leaklint_cache" not in p.parts}

    before = contents()
    result = leaklint_602("--fix", "--unsafe-fixes", ".", cwd=target)
    assert result.returncode == 1 and len(_rows(result)) == 8, result.stdout
    assert contents() == before
    diff = leaklint_602("--diff", "--unsafe-fixes", ".", cwd=target)
    assert diff.stdout == "" and "No fixes available." in diff.stderr


def test_json_output_points_at_the_line():
    result = leaklint_602("--output-format", "json", "Procfile", cwd=DEPLOYMENT)
    [finding] = json.loads(result.stdout)
    assert (finding["code"], finding["filename"], finding["location"]["row"], finding["location"]["column"]) == \
        ("LL602", "Procfile", 1, 6)
    assert finding["fix"] is None


def test_deployment_files_are_excludable_like_any_path(tmp_path):
    target = tmp_path / "project"
    shutil.copytree(DEPLOYMENT, target)
    assert [r[0] for r in _rows(leaklint_602("--extend-exclude", "deploy", ".", cwd=target))].count(
        "deploy/k8s/deployment.yaml") == 0
    (target / ".gitignore").write_text("Procfile\n")
    subprocess.run(["git", "init", "-q"], cwd=target, check=True)
    assert "Procfile" not in [r[0] for r in _rows(leaklint_602(".", cwd=target))]
    (target / "pyproject.toml").write_text('[tool.leaklint.per-file-ignores]\n"Dockerfile" = ["LL602"]\n')
    result = subprocess.run([sys.executable, "-m", "leaklint", "--select", "LL602", "."], cwd=target,
                            capture_output=True, text=True, timeout=120)
    assert "Dockerfile" not in [r[0] for r in _rows(result)] and _rows(result), result.stdout
    shown = leaklint_602("--show-files", ".", cwd=target).stdout.split()
    assert "Dockerfile" in shown and "Procfile" not in shown and "scripts/start.sh" in shown


NOQA_CASES = {
    "Dockerfile": 'FROM python:3.12\n# noqa: LL602\nCMD ["gunicorn", "app.main:app"]\n',
    "Procfile": "web: gunicorn app.main:app  # noqa: LL602\n",
    "run.sh": "#!/bin/sh\nexec gunicorn app.main:app \\\n    --workers 2  # noqa: LL602\n",
    "docker-compose.yml": "# leaklint: noqa: LL602\nservices:\n  api:\n    command: gunicorn app.main:app\n",
    "supervisord.conf": "[program:api]\ncommand=gunicorn app.main:app  ; noqa: LL602\n",
}


@pytest.mark.parametrize("name", sorted(NOQA_CASES))
def test_noqa_in_deployment_files(tmp_path, name):
    project = _project(tmp_path, {name: NOQA_CASES[name]})
    assert _rows(leaklint_602(".", cwd=project)) == []
    text = NOQA_CASES[name].replace("noqa: LL602", "noqa: LL101").replace("leaklint: noqa", "leaklint: x")
    (project / name).write_text(text)
    assert len(_rows(leaklint_602(".", cwd=project))) == 1  # another code's noqa does not silence LL602


CLEAN_CASES = {
    "GUNICORN_CMD_ARGS in the image": {
        "Dockerfile": 'FROM python:3.12\nENV GUNICORN_CMD_ARGS="--max-requests 1000 --max-requests-jitter 50"\n'
                      'CMD ["gunicorn", "app.main:app"]\n'},
    "GUNICORN_CMD_ARGS from compose, CMD in the Dockerfile": {
        "Dockerfile": 'FROM python:3.12\nCMD ["gunicorn", "app.main:app"]\n',
        "docker-compose.yml": "services:\n  api:\n    build: .\n    environment:\n"
                              "      - GUNICORN_CMD_ARGS=--max-requests=1000 --max-requests-jitter=50\n"},
    "GUNICORN_CMD_ARGS from the platform": {
        "Procfile": "web: gunicorn app.main:app\n",
        "deploy.yaml": "kind: Deployment\nspec:\n  containers:\n    - name: api\n      env:\n"
                       "        - name: GUNICORN_CMD_ARGS\n          valueFrom:\n            configMapKeyRef: {}\n"},
    "a -c config that sets max_requests": {
        "Procfile": "web: gunicorn -c deploy/gunicorn_conf.py app.main:app\n",
        "deploy/gunicorn_conf.py": "workers = 4\nmax_requests = 1000\nmax_requests_jitter = 50\n"},
    "a -c python: config module": {
        "Procfile": "web: gunicorn -c python:app.server_conf app.main:app\n",
        "app/server_conf.py": "max_requests = 1000\nmax_requests_jitter = 50\n"},
    "gunicorn.conf.py read from the working directory": {
        "Procfile": "web: gunicorn app.main:app\n",
        "gunicorn.conf.py": "max_requests = 1000\nmax_requests_jitter = 50\n"},
    "flags in a variable": {
        "start.sh": '#!/bin/sh\nexec gunicorn app.main:app $GUNICORN_OPTS\n',
        "entry.sh": '#!/bin/sh\nexec gunicorn "$@"\n'},
    "not a server command": {
        "Dockerfile": "FROM python:3.12\nRUN pip install gunicorn\nCMD echo gunicorn app\n",
        "check.sh": "#!/bin/sh\ngunicorn --check-config app.main:app\nuvicorn --version\n"},
    "an unknown -c config": {"Procfile": "web: gunicorn -c /etc/shop/gunicorn.py app.main:app\n"},
    "uvicorn in development": {"docker-compose.yml": "services:\n  api:\n    command: uvicorn app.main:app --reload\n"},
    "a Dockerfile that only a --reload compose service builds": {
        "backend/Dockerfile": 'FROM python:3.12\nENTRYPOINT ["uvicorn", "app.main:app", "--host", "0.0.0.0"]\n',
        "docker-compose.yml": "services:\n  db:\n    image: postgres\n  backend:\n    build:\n"
                              "      context: backend\n    volumes:\n      - ./backend:/backend\n"
                              "    command:\n      - --reload\n"},
    "uvicorn that recycles itself": {"Procfile": "web: uvicorn app.main:app --limit-max-requests 10000\n"},
    "uvicorn next to gunicorn": {
        "Procfile": "web: gunicorn app.main:app --max-requests 1000 --max-requests-jitter 50\n",
        "run.sh": "#!/bin/sh\nuvicorn app.main:app --port 8001\n"},
    "development, test and CI files": {
        "Dockerfile.dev": 'FROM python:3.12\nCMD ["gunicorn", "app.main:app"]\n',
        "docker-compose.test.yml": "services:\n  api:\n    command: gunicorn app.main:app\n",
        "tests/serve.sh": "gunicorn app.main:app\n",
        ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: gunicorn app.main:app &\n"},
    "a local launcher that starts the front-end dev server too": {
        "run_gui.sh": "#!/bin/bash\nuvicorn main:app --host 0.0.0.0 --port 8000 &\ncd gui && npm run dev &\nwait\n"},
    "supervisord programs that recycle, and commands outside a program section": {
        "deploy/supervisord.conf": "[supervisord]\nnodaemon=true\n\n[program:api]\n"
                                   "command=gunicorn app.main:app --workers 4\n"
                                   "    --max-requests 1000 --max-requests-jitter 50  ; recycle\n",
        "supervisor/worker.conf": "[eventlistener:memmon]\ncommand=gunicorn app.main:app\n"
                                  "[program:beat]\n; command=gunicorn app.main:app\ncommand=python -m app.beat\n"},
    "supervisord values that go on past comment and blank lines": {
        "deploy/supervisord.conf": "[program:api]\ncommand: gunicorn app.main:app --workers 4\n"
                                   "    ; recycle the workers\n\n    --max-requests 1000 --max-requests-jitter 50\nautostart=true\n"},
    "YAML that is not a deployment": {"playbook.yml": "- hosts: all\n  tasks:\n    - command: gunicorn app.main:app\n"},
}


@pytest.mark.parametrize("case", sorted(CLEAN_CASES))
def test_deployment_guards(tmp_path, case):
    result = leaklint_602(".", cwd=_project(tmp_path, CLEAN_CASES[case]))
    assert _rows(result) == [], result.stdout


def test_a_dev_server_named_only_in_a_comment_does_not_make_a_launcher(tmp_path):
    script = "#!/bin/sh\n# for local work: npm run dev in web/\nexec uvicorn app.main:app --host 0.0.0.0\n"
    assert _rows(leaklint_602(".", cwd=_project(tmp_path, {"start.sh": script}))) == [("start.sh", 3, 6)]


def test_a_dockerfile_that_builds_the_front_end_is_still_judged(tmp_path):
    dockerfile = ('FROM node:20 AS web\nRUN npm run dev -- --help && npx vite build\n'
                  'FROM python:3.12\nCMD ["gunicorn", "app.main:app"]\n')
    assert _rows(leaklint_602(".", cwd=_project(tmp_path, {"Dockerfile": dockerfile}))) == [("Dockerfile", 4, 6)]


def test_a_dockerfile_some_compose_service_runs_without_reload_is_judged(tmp_path):
    dockerfile = 'FROM python:3.12\nCMD ["uvicorn", "app.main:app"]\n'
    dev = "services:\n  api:\n    build: ./backend  # the dev image\n    command: [\"--reload\"]\n"
    project = _project(tmp_path, {"backend/Dockerfile": dockerfile, "docker-compose.yml": dev,
                                  "deploy/compose.yaml": "services:\n  api:\n    build:\n      context: ..\n"
                                                         "      dockerfile: backend/Dockerfile\n"})
    assert _rows(leaklint_602(".", cwd=project)) == [("backend/Dockerfile", 2, 6)]
    only_dev = _project(tmp_path / "dev", {"backend/Dockerfile": dockerfile, "docker-compose.yml": dev})
    assert _rows(leaklint_602(".", cwd=only_dev)) == []


def test_the_config_module_is_judged_in_its_own_file(tmp_path):
    project = _project(tmp_path, {"Procfile": "web: gunicorn --config deploy/gunicorn_conf.py app.main:app\n",
                                  "deploy/gunicorn_conf.py": 'bind = "0.0.0.0:8000"\nworkers = 4\n'})
    assert _rows(leaklint_602(".", cwd=project)) == [("deploy/gunicorn_conf.py", 2, 1)]  # at `workers`


def test_literal_gunicorn_cmd_args_without_the_flag_and_a_lone_uvicorn(tmp_path):
    project = _project(tmp_path, {
        "Dockerfile": 'FROM python:3.12\nENV GUNICORN_CMD_ARGS="--timeout 60"\n'
                      'CMD ["conda", "run", "-n", "api", "gunicorn", "app.main:app"]\n'})
    assert _rows(leaklint_602(".", cwd=project)) == [("Dockerfile", 3, 35)]
    uvicorn = _project(tmp_path / "u", {"Procfile": "web: uvicorn app.main:app --host 0.0.0.0 --port $PORT\n"})
    result = leaklint_602(".", cwd=uvicorn)
    assert _rows(result) == [("Procfile", 1, 6)] and "--limit-max-requests" in result.stdout


def test_add_noqa_writes_comments_that_keep_each_command(tmp_path):
    target = tmp_path / "project"
    shutil.copytree(DEPLOYMENT, target)
    before = {p.relative_to(target): p.read_text() for p in target.rglob("*")
              if p.is_file() and ".leaklint_cache" not in p.parts}
    result = leaklint_602("--no-cache", "--add-noqa", ".", cwd=target)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _rows(leaklint_602("--no-cache", ".", cwd=target)) == []
    dockerfile = (target / "Dockerfile").read_text().splitlines()
    # above the instruction: a trailing `#` would turn the exec form into a shell command
    assert dockerfile[7:9] == ["# noqa: LL602", before[Path("Dockerfile")].splitlines()[7]]
    compose = (target / "docker-compose.yml").read_text()
    assert 'command: ["python", "-m", "gunicorn", "shop.main:app"]  # noqa: LL602' in compose
    script = (target / "scripts" / "start.sh").read_text().splitlines()
    assert script[4].endswith("\\") and script[5].endswith("-c shop/gunicorn_hooks.py  # noqa: LL602")
    assert (target / "Procfile").read_text().splitlines()[0].endswith("$PORT  # noqa: LL602")
    assert (target / "Dockerfile.dev").read_text() == before[Path("Dockerfile.dev")]  # not production: no finding


def test_gunicorn_run_by_supervisord_is_judged_where_its_command_is(tmp_path):
    conf = ("[supervisord]\nnodaemon=true\n\n[program:gunicorn]\n; the API\n"
            "command=/usr/local/bin/gunicorn --bind \"%(ENV_BIND)s\" --workers 2  ; two workers\n"
            "    --worker-class uvicorn.workers.UvicornWorker app.main:app\ndirectory=/app\n")
    project = _project(tmp_path, {"deploy/docker/supervisord.conf": conf})
    assert _rows(leaklint_602(".", cwd=project)) == [("deploy/docker/supervisord.conf", 6, 9)]


def test_a_conf_file_in_a_supervisor_folder_is_read_as_supervisord(tmp_path):
    """``etc/supervisor/conf.d/api.conf`` is found by its folder, walked or named, and not parsed as Python."""
    conf = "[program:api]\ncommand=gunicorn app.main:app\n"
    project = _project(tmp_path, {"etc/supervisor/conf.d/api.conf": conf})
    assert _rows(leaklint_602(".", cwd=project)) == [("etc/supervisor/conf.d/api.conf", 2, 9)]
    named = leaklint_602("etc/supervisor/conf.d/api.conf", cwd=project)
    assert _rows(named) == [("etc/supervisor/conf.d/api.conf", 2, 9)] and "LL001" not in named.stdout
