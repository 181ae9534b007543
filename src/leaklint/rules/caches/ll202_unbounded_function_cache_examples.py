"""LL202's examples: which cached functions hold one entry per request and which hold a bounded few."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

VALID = [
    # zero-argument factory: one entry
    """
from functools import lru_cache, cache

@lru_cache(maxsize=None)
def get_settings():
    return {}

@cache
def get_engine():
    return object()
""",
    # bounded
    """
import functools

@functools.lru_cache(maxsize=256)
def parse(text: str):
    return text.split()

@functools.lru_cache
def parse2(text: str):
    return text.split()
""",
    # a local `cache` that is not functools.cache
    """
def cache(fn):
    return fn

@cache
def compute(x):
    return x
""",
    # classmethod with only `cls`: one entry per class
    """
from functools import cache

class Model:
    @classmethod
    @cache
    def schema(cls):
        return {}
""",
    # flags, classes and callables: bounded by the code base
    """
from functools import cache
from typing import Callable, Literal, Type

@cache
def parser(strict: bool = False, mode: Literal["a", "b"] = "a"):
    return object()

@cache
def fields(model: Type[object], hook: Callable[[], None]):
    return []

@cache
def flag(kind: type[int]):
    return kind
""",
    # instance methods are LL203's
    """
from functools import cache

class Repo:
    @cache
    def find(self, key):
        return key
""",
    # every call passes configuration or a literal: one entry per configured value
    Valid("""
from functools import cache

from app.config import settings


@cache
def token_signer(ttl_seconds: int, audience: str = "api"):
    return (ttl_seconds, audience)


def issue(claims):
    return token_signer(settings.jwt_ttl, audience=settings.jwt_audience), claims


def refresh(claims):
    return token_signer(3600), claims
""", files={"app/__init__.py": "", "app/config.py": "class _S:\n    jwt_ttl = 60\n    jwt_audience = 'api'\n\n\nsettings = _S()\n"},
        path="app/tokens.py"),
    # a private cache that only a CLI command calls: as many keys as the command is run with
    Valid("""
from functools import cache

import click


@cache
def _load_template(name: str) -> str:
    return name.upper()


@click.command()
@click.argument("name")
def render(name):
    click.echo(_load_template(name))
"""),
    # only import-time code calls it: the route table's patterns, compiled once
    """
import functools
import re

ROUTES = [("/runs/<run_id>", "GET"), ("/runs/<run_id>/logs", "GET")]


@functools.lru_cache(maxsize=None)
def compile_path(path: str) -> re.Pattern:
    return re.compile(re.sub(r"<([^>]+)>", r"(?P<\\1>[^/]+)", path))


PATTERNS = {(compile_path(path), method) for path, method in ROUTES}
""",
    # warn-once: nothing is cached but the messages already shown
    """
import logging
import os
from functools import lru_cache

logger = logging.getLogger(__name__)


@lru_cache(None)
def warning_once(*args, **kwargs) -> None:
    if int(os.getenv("LOCAL_RANK", "0")) == 0:
        logger.warning(*args, **kwargs)
""",
]
INVALID = [
    Invalid("""
from functools import lru_cache

@lru_cache(maxsize=None)
def permissions(user_id: int):
    return {user_id}
""", line=3, column=2, message="`lru_cache(maxsize=None)` on `permissions`", fixed="""
from functools import lru_cache

@lru_cache(maxsize=128)
def permissions(user_id: int):
    return {user_id}
"""),
    Invalid("""
import functools as ft

@ft.cache
def resolve(host, port=80):
    return (host, port)
""", line=3, message="`cache` on `resolve`", fixed="""
import functools as ft

@ft.lru_cache(maxsize=128)
def resolve(host, port=80):
    return (host, port)
"""),
    Invalid("""
from functools import cache as memo

@memo  # per user
def lookup(*keys):
    return keys
""", line=3, fixed="""
from functools import lru_cache, cache as memo

@lru_cache(maxsize=128)  # per user
def lookup(*keys):
    return keys
"""),
    Invalid("""
from functools import lru_cache

class Users:
    @staticmethod
    @lru_cache(None, typed=True)
    def by_email(email):
        return email
""", line=5, fixed="""
from functools import lru_cache

class Users:
    @staticmethod
    @lru_cache(maxsize=128, typed=True)
    def by_email(email):
        return email
"""),
    # the decorator is re-exported by another linted module
    Invalid("""
from app.util import memoize

@memoize
def fetch(url):
    return url
""", files={"app/__init__.py": "", "app/util.py": "from functools import cache as memoize\n"},
        path="app/client.py", line=3),
    # a route passes the request's data: one entry per distinct value, forever
    Invalid("""
from functools import cache

from fastapi import FastAPI

app = FastAPI()


@cache
def profile_card(user_id: str):
    return {"id": user_id}


@app.get("/users/{user_id}")
def user(user_id: str):
    return profile_card(user_id)


def warm():
    return profile_card("admin")
""", line=8, message="`cache` on `profile_card`"),
    # a module-level request proxy is not configuration
    Invalid("""
from functools import lru_cache

from fastapi import FastAPI
from starlette_context import context

app = FastAPI()


@lru_cache(maxsize=None)
def search(term):
    return [term]


@app.get("/search")
def view():
    return search(context.query_text)
""", line=9),
    # a module-level lambda calls it whenever the lambda runs, not once at import
    Invalid("""
from functools import cache


@cache
def render(path):
    return path.upper()


handler = lambda request: render(request.path)
""", line=4),
    # it logs, but it also returns what it built: the values stay cached
    Invalid("""
import logging
from functools import cache

logger = logging.getLogger(__name__)


@cache
def profile(user_id: int):
    logger.info("loading %s", user_id)
    return {"id": user_id}
""", line=7, column=2, message="`cache` on `profile`"),
]
