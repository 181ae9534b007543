"""LL203's examples: method caches on objects made over and over, and on objects made once."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a method cache whose instances the two examples below make once and per request
_PREFIXES = """class Prefixes:
    @lru_cache(maxsize=None)
    def lookup(self, prefix):
        return prefix.upper()
"""

VALID = [
    """
from functools import lru_cache, cached_property

class Service:
    @staticmethod
    @lru_cache(maxsize=32)
    def parse(text):
        return text

    @classmethod
    @lru_cache
    def default(cls):
        return cls()

    @cached_property
    def config(self):
        return {}
""",
    # enum members live for the whole process anyway
    """
import enum
from functools import cache

class Color(enum.Enum):
    RED = 1

    @cache
    def label(self):
        return self.name.lower()
""",
    # a module-level singleton lives as long as the cache anyway
    Valid("""
from functools import lru_cache

class Registry:
    @lru_cache(maxsize=100)
    def store_for(self, uri):
        return uri
""", files={"app/__init__.py": "", "app/stores.py": "from app.registry import Registry\nregistry = Registry()\n"},
        path="app/registry.py"),
    # only made once, in a cached factory, or by a framework (never constructed by name here)
    """
from functools import lru_cache

class Settings:
    @lru_cache
    def database_url(self):
        return "sqlite://"

@lru_cache
def get_settings():
    return Settings()
""",
    """
from functools import lru_cache

class Worker:
    @lru_cache
    def context_length(self):
        return 4096

def start(framework):
    return framework.create_actor(Worker, uid="worker")
""",
    # bounded, on objects made per call but not per request: at most `maxsize` of them stay
    """
from functools import lru_cache

class Window:
    @lru_cache(maxsize=1)
    def bounds(self, start):
        return start, start + 1

    @lru_cache()
    def width(self):
        return 1

def build(start):
    return Window().bounds(start)
""",
    # made by a cached dependency (once, whichever branch is configured), not per request
    """
from functools import lru_cache
from fastapi import Depends, FastAPI

app = FastAPI()

class TokenAuth:
    @lru_cache
    def signing_key(self, issuer):
        return issuer

@lru_cache(maxsize=1)
def get_auth(mode: str = "token"):
    if mode == "token":
        return TokenAuth()
    return None

@app.get("/me")
def me(auth: TokenAuth = Depends(get_auth)):
    return auth.signing_key("issuer")
""",
    # made only by the __init__ of a module-level singleton: one instance, as long-lived as the cache
    """
from functools import lru_cache

"""
    + _PREFIXES
    + """
class System:
    def __init__(self):
        self.prefixes = Prefixes()

system = System()
""",
    # a function nested in a method is not a method
    """
from functools import lru_cache

class Builder:
    def build(self, items):
        @lru_cache(maxsize=None)
        def key(item):
            return item
        return [key(i) for i in items]
""",
]
INVALID = [
    Invalid("""
from functools import lru_cache

class Repository:
    @lru_cache(maxsize=None)
    def find(self, key):
        return key

def get_repository():
    return Repository()
""", line=4, column=6, message="on method `find` keeps every `self` it was called with alive"),
    Invalid("""
import functools

class Client:
    @property
    @functools.cache
    def token(self):
        return "x"

def handle(request):
    return Client().token
""", line=5),
    Invalid("""
from app.util import memo

class Svc:
    @memo
    async def get(self, key):
        return key
""", files={"app/__init__.py": "", "app/util.py": "from functools import lru_cache\nmemo = lru_cache(maxsize=None)\n",
               "app/routes.py": "from app.svc import Svc\n\ndef build():\n    return Svc()\n"},
        path="app/svc.py", line=4),
    # FastAPI makes one per request; a subclass constructed elsewhere counts for its base
    Invalid("""
from functools import lru_cache
from fastapi import Depends, FastAPI

app = FastAPI()

class Pager:
    @lru_cache
    def window(self, size):
        return size

@app.get("/items")
def items(pager: Pager = Depends(Pager)):
    return pager.window(10)
""", line=7, message="keeps the last 128 `self`s it was called with alive"),
    Invalid("""
from functools import cache

class Model:
    @cache
    def tokens(self, text):
        return text.split()
""", files={"app/__init__.py": "", "app/chat.py": "from app.model import Model\n\nclass Chat(Model):\n    pass\n\ndef reply(text):\n    return Chat().tokens(text)\n"},
        path="app/model.py", line=4),
    # made in a base's __init__, and a subclass of that base is built per request
    Invalid("""
from functools import lru_cache
from fastapi import FastAPI

app = FastAPI()

"""
    + _PREFIXES
    + """
class Base:
    def __init__(self):
        self.prefixes = Prefixes()

class PerUser(Base):
    pass

@app.get("/p")
def prefix(p: str):
    return PerUser().prefixes.lookup(p)
""", line=7, message="on method `lookup`"),
]
