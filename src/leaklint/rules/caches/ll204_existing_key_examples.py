"""LL204 examples for stores that only replace an entry: an existing key, or a list entry reset first."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a route that stores per-request values on one module-level instance
_ROUTE = """
app = FastAPI()
store = Store()

@app.post("/values/{key}")
def put(key: str, value: int):
    return store.update(key, value)
"""

EXISTING_KEY_VALID = [
    # an early exit when the key is new: the store overwrites an entry and never adds one
    Valid("""
from fastapi import FastAPI

class Store:
    def __init__(self):
        self.values = {}

    def update(self, key, value):
        if key not in self.values:
            return False
        self.values[key] = value
        return True
""" + _ROUTE),
    # the store sits under the membership check itself, or in the `else` of its negation
    Valid("""
from fastapi import FastAPI

class Store:
    def __init__(self):
        self.values = {}
        self.hits = {}

    def update(self, key, value):
        if key in self.values:
            self.values[key] = value
        if key not in self.hits:
            raise KeyError(key)
        else:
            self.hits[key] += 1
""" + _ROUTE),
]

#: a per-instance prompt cache whose "refs" list gets the request's extra references
_PROMPT_CACHE = """
from fastapi import FastAPI

class Voice:
    def __init__(self):
        self.prompt = {"refs": [], "text": None}

    def set_refs(self, paths):
        self.prompt["refs"] = [self.prompt["refs"][0]] if self.prompt["refs"] else []
        for path in paths:
            self.prompt["refs"].append(path)

app = FastAPI()
voice = Voice()

@app.post("/refs")
def refs(paths: list[str]):
    voice.set_refs(paths)
"""

EXISTING_KEY_VALID.append(
    # the list entry is reset before the request's items go in: it holds one request's worth
    Valid(_PROMPT_CACHE))

EXISTING_KEY_INVALID = [
    # a lazy set-up of the entry is no reset: the list under it keeps every request's item
    Invalid(_PROMPT_CACHE.replace(
        '        self.prompt["refs"] = [self.prompt["refs"][0]] if self.prompt["refs"] else []\n',
        '        if "refs" not in self.prompt:\n            self.prompt["refs"] = []\n'),
        line=11, message="`self.prompt` of `Voice` only grows"),
    # never reset: every request's references pile up in the entry
    Invalid(_PROMPT_CACHE.replace(
        '        self.prompt["refs"] = [self.prompt["refs"][0]] if self.prompt["refs"] else []\n', ''),
        line=9, message="`self.prompt` of `Voice` only grows"),
    # the early exit checks another container: every new key is added
    Invalid("""
from fastapi import FastAPI

class Store:
    def __init__(self):
        self.allowed = {}
        self.values = {}

    def update(self, key, value):
        if key not in self.allowed:
            print("new key")
        self.values[key] = value
""" + _ROUTE, line=11, message="`self.values` of `Store` only grows"),
    # the check on the key does not leave the function: the store still adds it
    Invalid("""
from fastapi import FastAPI

class Store:
    def __init__(self):
        self.values = {}

    def update(self, key, value):
        if key not in self.values:
            print("new key")
        self.values[key] = value
""" + _ROUTE, line=10, message="`self.values` of `Store` only grows"),
]
