"""Real servers for the metrics and dashboard tests: free loopback ports, start, wait, stop.

A tool the tests need (gunicorn, chromium) may be missing on a developer's
machine: then the test skips with the reason. Under CI (env CI=true) the same
absence fails the test, because .ci/run installs them.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

HOST = "127.0.0.1"
HERE = os.path.dirname(os.path.abspath(__file__))
APPS = os.path.join(HERE, "apps")
SRC = os.path.abspath(os.path.join(HERE, "..", "..", "src"))


def require(ok, reason):
    """Skip locally, fail in CI, when something the test needs is absent."""
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run must install it)")
    pytest.skip(reason)


def require_module(name):
    try:
        __import__(name)
    except ImportError:
        require(False, f"python module {name} is not installed (pip install -e '.[test]')")


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_ready(port, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on port {port} within {timeout} s")


def server_env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([APPS, SRC, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start(args, env, log_path):
    """Start a server process in its own process group, output to log_path."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(args, env=env, cwd=APPS, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_file = log
    return proc


def stop(proc, timeout=20.0):
    """SIGTERM the server's process group (gunicorn's master and workers), then wait."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    proc.log_file.close()


def which(name):
    return shutil.which(name)


def python():
    return sys.executable
