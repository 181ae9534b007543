"""LL105's examples for API SDK clients (OpenAI, Anthropic) and Redis clients, which build their own
connection pool, and for clients kept on an object made per request."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

_PROVIDERS = {"app/__init__.py": "", "app/providers.py": """
import httpx
import openai


def llm_client(base_url, is_async=True):
    if is_async:
        return openai.AsyncOpenAI(base_url=base_url, http_client=httpx.AsyncClient(timeout=30))
    return openai.OpenAI(base_url=base_url)
"""}

VALID = [
    # a cached zero-argument factory: one SDK client per process, kept alive by the part of it
    # that the cache returns (`client.chat.completions` holds the client)
    """
from functools import lru_cache
from fastapi import Depends, FastAPI
from openai import AsyncOpenAI

app = FastAPI()


@lru_cache
def completions():
    client = AsyncOpenAI(base_url="http://llm:8000/v1")
    return client.chat.completions


@app.post("/chat")
async def chat(prompt: str, api=Depends(completions)):
    return await api.create(model="m", messages=[{"role": "user", "content": prompt}])
""",
    # one pool for the application, handed to the SDK client made per request: the app closes it
    """
import httpx
from fastapi import FastAPI, Request
from openai import AsyncOpenAI

app = FastAPI()


@app.on_event("startup")
async def open_pool():
    app.state.http = httpx.AsyncClient(timeout=60)


@app.post("/complete")
async def complete(request: Request, prompt: str):
    client = AsyncOpenAI(api_key=request.headers["x-key"], http_client=request.app.state.http)
    reply = await client.completions.create(model="m", prompt=prompt)
    return reply.model_dump()
""",
    # a helper that builds the SDK client over the pool it is given
    """
import httpx
from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()
POOL = httpx.AsyncClient()


def tenant_client(key, pool):
    return AsyncOpenAI(api_key=key, http_client=pool)


@app.get("/models")
async def models(key: str):
    client = tenant_client(key, POOL)
    return [m.id for m in (await client.models.list()).data]
""",
    # closed by the block, and one client made once for the process
    """
from anthropic import Anthropic
from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()
shared = AsyncOpenAI()


@app.post("/summarise")
def summarise(text: str):
    with Anthropic() as client:
        return client.messages.create(model="m", max_tokens=64, messages=[{"role": "user", "content": text}])


@app.post("/embed")
async def embed(text: str):
    return (await shared.embeddings.create(model="e", input=text)).model_dump()
""",
    # kept on an object that closes it, on one made once, and on one whose base class closes it
    Valid("""
import httpx
from fastapi import FastAPI
from openai import OpenAI

from app.base import Closing

app = FastAPI()


class Exporter:
    def __init__(self):
        self.http = httpx.Client()

    def close(self):
        self.http.close()


class Advisor:
    def __init__(self):
        self.client = OpenAI()


class Mirror(Closing):
    def __init__(self):
        self.http = httpx.Client()


ADVISOR = Advisor()


@app.post("/export")
def export():
    exporter, mirror = Exporter(), Mirror()
    try:
        return [exporter.http.get("/a").status_code, mirror.http.get("/b").status_code, ADVISOR.client]
    finally:
        exporter.close()
        mirror.close()
""", files={"app/__init__.py": "", "app/base.py": "class Closing:\n    def close(self):\n        self.http.close()\n"},
        path="app/routes.py"),
    # Redis: a client over the application's pool, one closed by `async with`, one made once
    """
import redis
import redis.asyncio as aioredis
from fastapi import FastAPI

app = FastAPI()
POOL = redis.ConnectionPool.from_url("redis://cache")
CACHE = aioredis.from_url("redis://cache")


@app.get("/hits")
def hits():
    return redis.Redis(connection_pool=POOL).incr("hits")


@app.get("/seen/{key}")
async def seen(key: str):
    async with aioredis.from_url("redis://cache") as client:
        return [await client.exists(key), await CACHE.exists(key)]
""",
]

INVALID = [
    # a new SDK client per request: its own httpx pool, never closed (openai-python issue 874)
    Invalid("""
from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()


@app.post("/embed")
async def embed(text: str, key: str):
    client = AsyncOpenAI(api_key=key)
    result = await client.embeddings.create(model="e", input=text)
    return result.model_dump()
""", line=9, message="HTTP client `client` is created per request and never closed (POST /embed): use `async with`",
        fixed="""
from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()


@app.post("/embed")
async def embed(text: str, key: str):
    async with AsyncOpenAI(api_key=key) as client:
        result = await client.embeddings.create(model="e", input=text)
        return result.model_dump()
"""),
    # a helper that returns a sync or an async client by argument: no fix, both keywords named
    Invalid("""
from fastapi import FastAPI

from app.providers import llm_client

app = FastAPI()


@app.get("/models")
async def models(base_url: str):
    client = llm_client(base_url, is_async=True)
    return [m.id for m in (await client.models.list()).data]
""", files=_PROVIDERS, path="app/routes.py", line=10, message="use `with` / `async with` or one shared client"),
    # a service made per request keeps a client it never closes
    Invalid("""
from fastapi import FastAPI
from openai import OpenAI

app = FastAPI()


class Suggester:
    def __init__(self, tenant):
        self.tenant = tenant
        self.client = OpenAI()

    def suggest(self, text):
        return self.client.completions.create(model="m", prompt=text)


@app.post("/suggest")
def suggest(tenant: str, text: str):
    return Suggester(tenant).suggest(text).model_dump()
""", line=10, message="`self.client` is created per request and kept on the instance, and no method of `Suggester` closes it"),
    # a Redis client per request: a new connection pool each time, never closed
    Invalid("""
from fastapi import FastAPI
from redis import Redis

app = FastAPI()


@app.get("/chats/{chat_id}")
def chat(chat_id: str):
    client = Redis(host="localhost", port=6379)
    return client.lrange(f"chat:{chat_id}", 0, -1)
""", line=9, message="Redis client `client` is created per request and never closed (GET /chats/{chat_id}): use `with`",
        fixed="""
from fastapi import FastAPI
from redis import Redis

app = FastAPI()


@app.get("/chats/{chat_id}")
def chat(chat_id: str):
    with Redis(host="localhost", port=6379) as client:
        return client.lrange(f"chat:{chat_id}", 0, -1)
"""),
    # its own close() does not close the client it holds
    Invalid("""
import requests
from fastapi import FastAPI

app = FastAPI()


class DirectoryConnector:
    def __init__(self, token):
        self.session = requests.Session()
        self.session.headers["Authorization"] = token

    def close(self):
        pass  # no held resources

    def users(self):
        return self.session.get("https://directory.example/users").json()


@app.get("/directory/test")
def test_connection(token: str):
    connector = DirectoryConnector(token)
    try:
        return connector.users()
    finally:
        connector.close()
""", line=9, message="kept on the instance, and no method of `DirectoryConnector` closes it"),
]
