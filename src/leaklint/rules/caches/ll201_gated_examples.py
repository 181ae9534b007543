"""LL201's examples about growth that a default deployment never runs: behind a debug switch."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

VALID = [
    # a debug log kept in memory only while debugging is switched on (off by default)
    Valid("""
logging: bool = False
logs = []


def log(*text):
    if logging:
        logs.append(" ".join(map(str, text)))
""", path="relay/debug.py"),
    Valid("""
from fastapi import FastAPI
from relay.settings import settings

app = FastAPI()
_timings = []


@app.get("/items")
def items(q: str):
    if settings.debug and q:
        _timings.append(q)
    return []
"""),
]

INVALID = [
    # the switch is not about debugging, and its `else` branch runs by default
    Invalid("""
from fastapi import FastAPI

app = FastAPI()
DEBUG = False
_seen = []


@app.get("/items")
def items(q: str):
    if DEBUG:
        print(q)
    else:
        _seen.append(q)
    return []
""", line=13, message="grows on every request"),
]
