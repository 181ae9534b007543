"""LL204 examples about how long the growing object lives: which of a family's instances grows, who
makes it (FastAPI per request, an inline construction), and how its holder binds it."""

from __future__ import annotations

from leaklint.rule import Invalid

# which instance grows when the process-lived one is not the only kind there is
#: a store whose base keeps a memo; the process holds one subclass, requests make another
_STORES = """
from fastapi import FastAPI


class Store:
    def __init__(self):
        self.memo = {}

    def get(self, key: str):
        self.memo[key] = key.upper()
        return self.memo[key]


class SettingsStore(Store):
    pass


class UserStore(Store):
    pass


settings_store = SettingsStore()
app = FastAPI()
"""

#: a memo FastAPI makes per request (``Depends(Memo)``) and a module-level service also holds one of
_MEMOS = """
from fastapi import Depends, FastAPI


class Memo:
    def __init__(self):
        self.seen = {}

    def remember(self, key: str):
        self.seen[key] = len(key)
        return self.seen[key]


class Warmer:
    def __init__(self):
        self.memo = Memo()

    def warm(self, key: str):
        return self.memo.remember(key)


warmer = Warmer()
app = FastAPI()


@app.get("/keys/{key}")
def key_length(key: str, memo: Memo = Depends(Memo)):
    return memo.remember(key)
"""

LIFETIME_VALID = [
    # requests grow the `UserStore` of a fresh `Handler` each; the module-level one is a sibling read at import
    _STORES.replace("settings_store = SettingsStore()\n", "") + """

class Handler:
    def __init__(self):
        self.store = UserStore()

    def handle(self, key: str):
        return self.store.get(key)


settings_store = SettingsStore()
BOOT = settings_store.get("boot")


@app.get("/rows/{key}")
def row(key: str):
    handler = Handler()
    return handler.handle(key)
""",
    # FastAPI makes a `Memo` per request (`Depends(Memo)`); the one the process-lived service holds grows only at import
    _MEMOS.replace("app = FastAPI()", "warmer.warm(\"boot\")\napp = FastAPI()"),
]

LIFETIME_INVALID = [
    # a sibling is made per request, but requests also use the process-lived instance itself
    Invalid(_STORES + """

@app.get("/users/{key}")
def user(key: str):
    return UserStore().get(key)


@app.get("/settings/{key}")
def setting(key: str):
    return settings_store.get(key)
""", line=9, column=9, message="module-level instance of subclass `SettingsStore`"),
    # `Depends(Memo)` makes one per request, but requests also grow the one the service holds
    Invalid(_MEMOS + """

@app.get("/warm/{key}")
def warm(key: str):
    return warmer.warm(key)
""", line=9, column=9, message="held by `Warmer.memo`"),
    # held in an annotated attribute (`self.voice: Voice = Voice()`) of a module-level object
    Invalid("""
from fastapi import FastAPI


class Voice:
    def __init__(self):
        self.seen = {}

    def say(self, text: str):
        self.seen[text] = len(text)


class Engine:
    def __init__(self):
        self.voice: Voice = Voice()

    def speak(self, text: str):
        self.voice.say(text)


engine = Engine()
app = FastAPI()


@app.get("/speak")
def speak(text: str):
    engine.speak(text)
""", line=9, column=9, message="held by `Engine.voice`, module-level instance"),
    # a method of an object made inline (`Lookup().find(key)`) runs per request like any other
    Invalid(_STORES + """

class Lookup:
    def find(self, key: str):
        return settings_store.get(key)


@app.get("/find/{key}")
def find(key: str):
    return Lookup().find(key)
""", line=9, column=9, message="(GET /find/{key} -> `Lookup.find()` -> `Store.get()`)"),
    # only the process-lived subclass is ever used per request: the message names it
    Invalid(_STORES + """

@app.get("/settings/{key}")
def setting(key: str):
    return settings_store.get(key)
""", line=9, column=9, message="module-level instance of subclass `SettingsStore`"),
]
