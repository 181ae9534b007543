"""LL105 examples: a client whose name is rebound to another object before anything closes it."""

from __future__ import annotations

from leaklint.rule import Invalid

VALID = [
    # derived from the first client, closed by the block
    """
import httpx
from fastapi import FastAPI

app = FastAPI()

@app.get("/status")
def status():
    client = httpx.Client()
    client = client.with_options(timeout=3)
    with client:
        return client.get("http://backend/status").text
""",
    # the second binding runs only when the first failed, or only on one branch
    """
import httpx
from fastapi import FastAPI

app = FastAPI()

@app.get("/probe")
def probe(fast: bool):
    try:
        client = httpx.Client()
    except OSError:
        client = None
    if fast:
        other = httpx.Client()
    else:
        other = None
    return {"up": client is not None and other is not None}
""",
    # released by the block, or handed to a longer-lived owner, before the name moves on
    """
import httpx
from fastapi import FastAPI

app = FastAPI()
pool = {}

@app.get("/page")
def page():
    client = httpx.Client()
    with client:
        text = client.get("http://backend/page").text
    client = None
    keeper = httpx.Client()
    pool["last"] = keeper
    keeper = None
    return text
""",
]
INVALID = [
    # the name moves on to the model (here inside `try:`); the client it held is never closed
    Invalid("""
import httpx
from fastapi import FastAPI

app = FastAPI()

class Model:
    def __init__(self, path):
        self.path = path

    def answer(self, prompt):
        return prompt

@app.post("/ask")
def ask(prompt: str):
    client = httpx.Client()
    if client.get("http://backend/ready").status_code != 200:
        raise RuntimeError("backend down")
    try:
        client = Model("weights.bin")
        return client.answer(prompt)
    except OSError:
        return None
""", line=15, message="rebound to another object before it is closed"),
]
