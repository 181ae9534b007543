"""LL204 examples for instances made under `if __name__ == "__main__":`."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a per-key set on a class; the examples differ in where its instance is made
TRACKER_CLASS = """
class Tracker:
    def __init__(self):
        self.seen = set()

    def hit(self, key):
        self.seen.add(key)
"""

MAIN_GUARD_VALID = [
    # the module's demo under `if __name__ == "__main__":`: the server imports the module, so that
    # instance never exists there; the route makes its own executor per run
    Valid("""
class RunExecutor:
    def __init__(self):
        self.outputs = {}

    def run(self, step):
        self.outputs[step] = step * 2

if __name__ == "__main__":
    executor = RunExecutor()
    print(executor)
""", files={"app/__init__.py": "", "app/main.py": "from fastapi import FastAPI\nfrom app.executor import RunExecutor\n\n"
            "app = FastAPI()\n\n@app.post('/runs/{step}')\ndef run(step: int):\n    executor = RunExecutor()\n"
            "    executor.run(step)\n"},
        path="app/executor.py"),
    # the same, with the package inside a plain folder (``backend/`` has no ``__init__.py``): the module
    # is known as ``app.executor`` and as ``backend.app.executor``, and the route imports it relatively
    Valid("""
class RunExecutor:
    def __init__(self):
        self.outputs = {}

    def run(self, step):
        self.outputs[step] = step * 2

if __name__ == "__main__":
    executor = RunExecutor()
""", files={"backend/app/__init__.py": "", "backend/app/main.py": "from fastapi import FastAPI\n"
            "from .executor import RunExecutor\n\napp = FastAPI()\n\n@app.post('/runs/{step}')\n"
            "def run(step: int):\n    executor = RunExecutor()\n    executor.run(step)\n"},
        path="backend/app/executor.py"),
]
MAIN_GUARD_INVALID = [
    # made under `if __name__ == "__main__":` of the server script itself, which nothing imports
    Invalid("""
import uvicorn
from fastapi import FastAPI
""" + TRACKER_CLASS + """
app = FastAPI()

@app.get("/{key}")
def hit(key: str):
    tracker.hit(key)

if __name__ == "__main__":
    tracker = Tracker()
    uvicorn.run(app)
""", line=9, message="module-level instance"),
]
