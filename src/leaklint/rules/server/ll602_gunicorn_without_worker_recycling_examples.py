"""LL602's `valid` / `invalid` examples, kept apart from the rule to keep both short."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

VALID = [
    Valid("""
bind = "0.0.0.0:8000"
workers = 4
max_requests = 2000
max_requests_jitter = 100
""", path="gunicorn.conf.py"),
    # a settings module of something else: has other functions and classes
    """
import os

bind = os.environ.get("BIND", "")
workers = 2
timeout = 30

class Settings:
    pass

def load():
    return Settings()
""",
    # a config module with hooks only: the settings are passed elsewhere
    Valid("""
def post_fork(server, worker):
    pass
""", path="gunicorn_conf.py"),
    # an options dict spread from elsewhere
    """
from gunicorn.app.base import BaseApplication

class App(BaseApplication):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

def run(app, extra):
    App(app, {"bind": "0.0.0.0:80", **extra}).run()
""",
]
INVALID = [
    Invalid("""
# gunicorn settings
bind = "0.0.0.0:8000"
workers = 4
worker_class = "uvicorn.workers.UvicornWorker"

def post_fork(server, worker):
    server.log.info("worker %s", worker.pid)
""", path="gunicorn.conf.py", line=3, message="without `max_requests`, `max_requests_jitter`", fixed="""
# gunicorn settings
bind = "0.0.0.0:8000"
workers = 4
worker_class = "uvicorn.workers.UvicornWorker"
max_requests = 1000
max_requests_jitter = 50

def post_fork(server, worker):
    server.log.info("worker %s", worker.pid)
"""),
    # detected by its settings, with only the jitter missing
    Invalid("""
bind = "unix:/run/app.sock"
worker_class = "uvicorn.workers.UvicornWorker"
max_requests = 500
accesslog = "-"
""", path="deploy/server_settings.py", line=3, message="without `max_requests_jitter`", fixed="""
bind = "unix:/run/app.sock"
worker_class = "uvicorn.workers.UvicornWorker"
max_requests = 500
max_requests_jitter = 50
accesslog = "-"
"""),
    Invalid("""
from gunicorn.app.base import BaseApplication as Base

class StandaloneApplication(Base):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

def main(app):
    options = {
        "bind": "0.0.0.0:8000",
        "workers": 4,
    }
    StandaloneApplication(app, options).run()
""", line=10, message="without `max_requests`", fixed="""
from gunicorn.app.base import BaseApplication as Base

class StandaloneApplication(Base):
    def __init__(self, app, options=None):
        self.options = options or {}
        self.application = app
        super().__init__()

def main(app):
    options = {
        "bind": "0.0.0.0:8000",
        "workers": 4,
        "max_requests": 1000,
        "max_requests_jitter": 50,
    }
    StandaloneApplication(app, options).run()
"""),
    # the application class is defined in another linted module; the dict names a linted config
    Invalid("""
from app.server import GunicornApp

def serve(app):
    GunicornApp(app, {"bind": "0.0.0.0:80", "config": "python:app.gunicorn_hooks"}).run()
""", files={"app/__init__.py": "", "app/gunicorn_hooks.py": "def post_fork(server, worker):\n    pass\n",
        "app/server.py": """
from gunicorn.app.base import BaseApplication

class GunicornApp(BaseApplication):
    pass
"""}, path="app/cli.py", line=4, fixed="""
from app.server import GunicornApp

def serve(app):
    GunicornApp(app, {"bind": "0.0.0.0:80", "config": "python:app.gunicorn_hooks", "max_requests": 1000, "max_requests_jitter": 50}).run()
"""),
]
