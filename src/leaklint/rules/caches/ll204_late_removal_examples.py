"""LL204 examples: entries a streaming generator removes only after a `yield`, on objects held by
process-lived objects (an attribute of a module-level instance that a factory function made)."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a speech service: the route streams what ``Voice.stream`` yields; ``{body}`` is that generator's body
VOICE_APP = """
import uuid

from fastapi import FastAPI
from fastapi.responses import StreamingResponse


class Voice:
    def __init__(self):
        self.pending = {{}}

    def stream(self, text):
        key = uuid.uuid4().hex
{body}


class Engine:
    def __init__(self):
        self.voice = Voice()

    def speak(self, text):
        yield from self.voice.stream(text)


def load_engine():
    return Engine()


app = FastAPI()
engine = load_engine()


@app.get("/speak")
def speak(text: str):
    return StreamingResponse(engine.speak(text))
"""

HAPPY_PATH_ONLY = """\
        self.pending[key] = []
        for word in text.split():
            self.pending[key].append(word)
            yield word
        self.pending.pop(key)"""

IN_FINALLY = """\
        self.pending[key] = []
        try:
            for word in text.split():
                self.pending[key].append(word)
                yield word
        finally:
            self.pending.pop(key)"""

AFTER_A_HEADER = """\
        yield "header"
        self.pending[key] = text.split()
        words = self.pending.pop(key)
        for word in words:
            yield word"""

BEFORE_THE_YIELD = """\
        self.pending[key] = text.split()
        words = self.pending.pop(key)
        for word in words:
            yield word"""

LATE_REMOVAL_INVALID = [
    # the entry is made per request and removed only once the stream is read to its end: reached
    # through the factory's product (``engine``), ``Engine.voice`` and ``self.voice.stream``
    Invalid(VOICE_APP.format(body=HAPPY_PATH_ONLY), line=13, column=9,
            message="`stream` removes them only after a `yield`"),
    # a subclass's container that only the base class's generator removes, after its `yield`
    Invalid("""
import uuid

from fastapi import FastAPI
from fastapi.responses import StreamingResponse


class BaseModel:
    def __init__(self):
        self.caches = {}

    def run(self, prompt):
        key = uuid.uuid4().hex
        self.step(key, prompt)
        yield self.caches[key]
        del self.caches[key]

    def step(self, key, prompt):
        self.caches[key] = prompt


class FastModel(BaseModel):
    def __init__(self):
        self.caches = {}

    def step(self, key, prompt):
        self.caches[key] = prompt.upper()


app = FastAPI()
model = FastModel()


@app.get("/run")
def run(prompt: str):
    return StreamingResponse(model.run(prompt))
""", line=26, column=9, message="`run` removes them only after a `yield`"),
]

LATE_REMOVAL_VALID = [
    # removed in `finally`: closing the generator runs it
    VOICE_APP.format(body=IN_FINALLY),
    # removed before the first `yield`
    VOICE_APP.format(body=BEFORE_THE_YIELD),
    # a `yield` before the removal, but before the entry is made too: no `yield` between them
    VOICE_APP.format(body=AFTER_A_HEADER),
    # `Voice` is also made per request, so nothing says the one that grows lives for the process
    Valid(VOICE_APP.format(body=HAPPY_PATH_ONLY) + """

@app.get("/once")
def once(text: str):
    return StreamingResponse(Voice().stream(text))
"""),
]
