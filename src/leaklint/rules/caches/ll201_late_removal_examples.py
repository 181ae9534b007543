"""LL201 examples: entries a streaming generator removes only after a `yield`."""

from __future__ import annotations

from leaklint.rule import Invalid

#: a chat stream that keeps each run's state in a module dict; ``{body}`` is the generator's body
CHAT_APP = """
import uuid

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

app = FastAPI()
_runs = {{}}


async def tokens(prompt):
    run_id = uuid.uuid4().hex
{body}


@app.post("/chat")
async def chat(prompt: str):
    return StreamingResponse(tokens(prompt))
"""

HAPPY_PATH_ONLY = """\
    _runs[run_id] = {"prompt": prompt}
    for token in prompt.split():
        yield token
    _runs.pop(run_id, None)"""

IN_FINALLY = """\
    _runs[run_id] = {"prompt": prompt}
    try:
        for token in prompt.split():
            yield token
    finally:
        _runs.pop(run_id, None)"""

AFTER_A_HEADER = """\
    yield "header"
    _runs[run_id] = {"prompt": prompt}
    words = _runs.pop(run_id)["prompt"].split()
    for token in words:
        yield token"""

IN_THE_LOOP = """\
    for token in prompt.split():
        yield token
        _runs[run_id] = {"last": token}
    _runs.pop(run_id, None)"""

LATE_REMOVAL_INVALID = [
    # made in the loop after its `yield`, removed after the loop: the next turn stops at that `yield`
    Invalid(CHAT_APP.format(body=IN_THE_LOOP), line=14, column=9,
            message="`tokens` removes them only after a `yield`"),
    # removed only once the client has read the whole stream
    Invalid(CHAT_APP.format(body=HAPPY_PATH_ONLY), line=12, column=5,
            message="`tokens` removes them only after a `yield`"),
]

LATE_REMOVAL_VALID = [
    CHAT_APP.format(body=IN_FINALLY),
    # a `yield` before the removal, but before the entry is made too: no `yield` between them
    CHAT_APP.format(body=AFTER_A_HEADER),
]
