"""LL204 examples for an instance made in the application factory, whose routes are closures."""

from __future__ import annotations

from leaklint.rule import Invalid, Valid

#: a service object built by ``create_app()`` next to the app; its routes are declared in a method
_FACTORY = """
from fastapi import FastAPI


class ChatApi:
    def __init__(self, app: FastAPI):
        self.app = app
        self.conversations = {}

    def register_routes(self):
        @self.app.post("/chat/{conversation_id}")
        async def chat(conversation_id: str, text: str):
            async def stream():
                self.conversations[conversation_id] = text
                yield text
            return stream()


def create_app():
    app = FastAPI()
    api = ChatApi(app)
    api.register_routes()
    return app
"""

APP_FACTORY_VALID = [
    # the factory warms one up, but a route builds its own per request: not one per process
    Valid(_FACTORY.replace("    api.register_routes()\n", "    api.register_routes()\n\n    @app.get('/fresh')\n"
                           "    def fresh(key: str):\n        other = ChatApi(app)\n        other.conversations[key] = 1\n")),
    # `self.app` is not known to be an app (`app` has no annotation): its `.post` is no route
    Valid(_FACTORY.replace("def __init__(self, app: FastAPI):", "def __init__(self, app):")),
    # the same class, made by a test for each test: not the served app's
    Valid(_FACTORY.replace("def create_app():", "def make_test_app():"), path="tests/test_chat.py"),
]

APP_FACTORY_INVALID = [
    # the same with the app annotated `Optional[FastAPI]`
    Invalid(_FACTORY.replace("from fastapi import FastAPI", "from typing import Optional\nfrom fastapi import FastAPI")
            .replace("app: FastAPI", "app: Optional[FastAPI]"), line=14,
            message="`self.conversations` of `ChatApi` only grows"),
    # one entry per conversation id a client sends, kept for the life of the app
    Invalid(_FACTORY, line=13,
            message="`self.conversations` of `ChatApi` only grows, in `register_routes.chat.stream`"),
]
