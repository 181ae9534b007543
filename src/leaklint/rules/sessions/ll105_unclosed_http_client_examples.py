"""LL105's examples: clients made per request, in routes, helpers and other modules."""

from leaklint.rule import Invalid, Valid

CLIENTS = {"app/__init__.py": "", "app/clients.py": """
from functools import lru_cache
import httpx


def make_client():
    return httpx.AsyncClient(timeout=5)


@lru_cache
def shared_client():
    return httpx.Client()


async def close_quietly(client):
    try:
        await client.aclose()
    except Exception:
        pass
"""}

VALID = [
    # `async with`: closed on every path
    """
import httpx
from fastapi import FastAPI

app = FastAPI()

@app.get("/weather")
async def weather(city: str):
    async with httpx.AsyncClient() as client:
        response = await client.get("https://example.org", params={"q": city})
    return response.json()
""",
    # one client for the application, closed at shutdown
    """
from contextlib import asynccontextmanager
import httpx
from fastapi import FastAPI, Request

@asynccontextmanager
async def lifespan(app):
    app.state.http = httpx.AsyncClient()
    yield
    await app.state.http.aclose()

app = FastAPI(lifespan=lifespan)

@app.get("/weather")
async def weather(request: Request):
    return (await request.app.state.http.get("https://example.org")).json()
""",
    # closed in `finally`, by a helper of another module
    Valid("""
from fastapi import FastAPI
from app.clients import close_quietly, make_client

app = FastAPI()

@app.get("/weather")
async def weather():
    client = make_client()
    try:
        return (await client.get("https://example.org")).json()
    finally:
        await close_quietly(client)
""", files=CLIENTS, path="app/main.py"),
    # a cached helper hands out one client for the process
    Valid("""
from fastapi import FastAPI
from app.clients import shared_client

app = FastAPI()

@app.get("/weather")
def weather():
    client = shared_client()
    return client.get("https://example.org").json()
""", files=CLIENTS, path="app/main.py"),
    # a yield-dependency owns it: FastAPI closes it after the response
    """
import httpx
from fastapi import Depends, FastAPI

app = FastAPI()

async def get_client():
    async with httpx.AsyncClient() as client:
        yield client

@app.get("/weather")
async def weather(client=Depends(get_client)):
    return (await client.get("https://example.org")).json()
""",
    # not per request: a script
    """
import httpx

def main():
    client = httpx.Client()
    print(client.get("https://example.org").text)
""",
    # handed to an object that keeps it
    """
import httpx
from fastapi import FastAPI

app = FastAPI()

class Api:
    def __init__(self, client):
        self.client = client

@app.get("/")
def index():
    client = httpx.Client()
    return Api(client)
""",
]

# a proxy: closed on success, in every `except Exception`, and by the streaming response's cleanup
VALID.append("""
import aiohttp
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

app = FastAPI()

@app.api_route("/proxy/{path:path}", methods=["GET", "POST"])
async def proxy(path: str, request: Request):
    session = aiohttp.ClientSession()
    try:
        upstream = await session.request(request.method, f"https://upstream/{path}")
        if upstream.headers.get("content-type") == "text/event-stream":
            async def cleanup():
                upstream.release()
                await session.close()
            return StreamingResponse(upstream.content.iter_any(), background=BackgroundTask(cleanup))
        body = await upstream.read()
        await session.close()
        return Response(body)
    except Exception:
        await session.close()
        return Response(status_code=502)
""")

INVALID = [
    Invalid("""
import httpx
from fastapi import FastAPI

app = FastAPI()

@app.get("/weather")
async def weather(city: str):
    client = httpx.AsyncClient()
    response = await client.get("https://example.org", params={"q": city})
    return response.json()
""", line=8, column=14, message="HTTP client `client` is created per request and never closed (GET /weather)",
        fixed="""
import httpx
from fastapi import FastAPI

app = FastAPI()

@app.get("/weather")
async def weather(city: str):
    async with httpx.AsyncClient() as client:
        response = await client.get("https://example.org", params={"q": city})
        return response.json()
"""),
    # closed, but not when the request fails
    Invalid("""
import requests
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
def index():
    session = requests.Session()
    data = session.get("https://example.org").json()
    session.close()
    return data
""", line=8, message="closed only on the happy path", fixed="""
import requests
from fastapi import FastAPI

app = FastAPI()

@app.get("/")
def index():
    with requests.Session() as session:
        data = session.get("https://example.org").json()
        return data
"""),
    # used inline: nobody can close it
    Invalid("""
import aiohttp
from fastapi import APIRouter

router = APIRouter()

@router.post("/hook")
async def hook():
    return await aiohttp.ClientSession().post("https://example.org")
""", line=8, message="`aiohttp.ClientSession()`"),
    # a helper of another module makes it; a helper the route calls leaks it
    Invalid("""
from fastapi import FastAPI
from app.clients import make_client

app = FastAPI()

async def fetch(url):
    client = make_client()
    return (await client.get(url)).json()

@app.get("/proxy")
async def proxy(url: str):
    return await fetch(url)
""", files=CLIENTS, path="app/main.py", line=7, message="(GET /proxy -> `fetch()`)"),
    # a dependency that returns a new client: FastAPI never closes it
    Invalid("""
import httpx
from fastapi import Depends, FastAPI

app = FastAPI()

def get_client():
    return httpx.Client(base_url="https://example.org")

@app.get("/")
def index(client=Depends(get_client)):
    return client.get("/").json()
""", line=7, message="returned by the dependency `get_client`: nobody closes it"),
    # a service injected with Depends(): its method runs per request through the typed parameter
    Invalid("""
import requests
from fastapi import Depends, FastAPI

app = FastAPI()

class Downloader:
    def fetch(self, url: str) -> bytes:
        session = requests.Session()
        return session.get(url, timeout=30).content

def get_downloader() -> Downloader:
    return Downloader()

@app.post("/import")
def import_url(url: str, downloader: Downloader = Depends(get_downloader)):
    return {"n": len(downloader.fetch(url))}
""", line=8, message="(POST /import -> `Downloader.fetch()`)"),
]
