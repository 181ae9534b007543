"""LL105's examples for generators whose caller never closes what they yield: FastAPI
dependencies and ``@contextmanager`` helpers."""

from __future__ import annotations

from leaklint.rule import Invalid

VALID = [
    # the generator closes what it yields: `async with` around the yield, or `finally`
    """
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI

app = FastAPI()


async def get_client():
    async with httpx.AsyncClient() as client:
        yield client


@asynccontextmanager
async def upstream():
    client = httpx.AsyncClient(base_url="https://example.org")
    try:
        yield client
    finally:
        await client.aclose()


@app.get("/a")
async def a(client=Depends(get_client)):
    async with upstream() as other:
        return [(await client.get("/")).status_code, (await other.get("/")).status_code]
""",
    # a plain generator hands what it yields to its caller, who closes it
    """
import httpx
from fastapi import FastAPI

app = FastAPI()


def clients(urls):
    for url in urls:
        yield httpx.Client(base_url=url)


@app.get("/ping")
def ping(urls: str):
    codes = []
    for client in clients(urls.split(",")):
        with client:
            codes.append(client.get("/").status_code)
    return codes
""",
]

INVALID = [
    # `async with model_client() as c:` leaves the generator after the yield: nothing closes the client
    Invalid("""
from contextlib import asynccontextmanager

from fastapi import FastAPI
from openai import AsyncOpenAI

app = FastAPI()


@asynccontextmanager
async def model_client(key):
    try:
        yield AsyncOpenAI(api_key=key)
    finally:
        print("released a slot")


@app.post("/chat")
async def chat(key: str, prompt: str):
    async with model_client(key) as client:
        return await client.completions.create(model="m", prompt=prompt)
""", line=12, message="yielded by the context manager `model_client`, which never closes it"),
    # a yield dependency: FastAPI runs the code after the yield, which does not close the client
    Invalid("""
import httpx
from fastapi import Depends, FastAPI

app = FastAPI()


async def get_client():
    client = httpx.AsyncClient()
    yield client


@app.get("/items")
async def items(client: httpx.AsyncClient = Depends(get_client)):
    return (await client.get("https://example.org/items")).json()
""", line=8, message="yielded by the dependency `get_client`, which never closes it", fixed="""
import httpx
from fastapi import Depends, FastAPI

app = FastAPI()


async def get_client():
    async with httpx.AsyncClient() as client:
        yield client


@app.get("/items")
async def items(client: httpx.AsyncClient = Depends(get_client)):
    return (await client.get("https://example.org/items")).json()
"""),
]
