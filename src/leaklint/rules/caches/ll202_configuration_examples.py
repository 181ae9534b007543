"""LL202 examples: configuration read through `self` or an injected dependency bounds a key; a request body's does not."""

from __future__ import annotations

from leaklint.rule import Invalid

VALID = [
    # configuration read through an injected service or config, or through `self`: one entry per configured value
    """
from functools import cache
from typing import Annotated

from fastapi import Depends, FastAPI

app = FastAPI()


class Service:
    config = None

    @classmethod
    def current(cls):
        return cls()

    def tokens(self):
        return split_keys(self.app_settings.api_keys)


@cache
def split_keys(raw: str) -> list:
    return [key.strip() for key in raw.split(",") if key.strip()]


@app.get("/check")
def check(service: Service = Depends(Service.current)):
    return split_keys(service.config.api_keys)


@app.get("/check2")
def check2(conf: Annotated[Service, Depends(Service.current)]):
    return split_keys(conf.api_keys)
""",
]
INVALID = [
    # a request body's `config` is what the client sent, not the service's configuration
    Invalid("""
from functools import cache

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class RunConfig(BaseModel):
    model: str


class RunRequest(BaseModel):
    config: RunConfig


@cache
def load_model(name: str):
    return object()


@app.post("/runs")
def run(body: RunRequest):
    return {"model": id(load_model(body.config.model))}
""", line=17, column=2, message="`cache` on `load_model`"),
]
