"""Shared test helpers: drive an ASGI app and record every message it sends."""

import asyncio


def line_of(module, marker):
    """1-based line number of the first source line containing ``marker``."""
    with open(module.__file__, encoding="utf-8") as fh:
        for i, line in enumerate(fh, start=1):
            if marker in line:
                return i
    raise AssertionError(f"{marker!r} not in {module.__file__}")


class Recorder:
    """Runs lifespan + requests on one loop and returns the exact ASGI send messages."""

    def __init__(self, app):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self._to_app = None
        self._from_app = None
        self._task = None

    def __enter__(self):
        self.loop.run_until_complete(self._startup())
        return self

    def __exit__(self, *exc):
        self.loop.run_until_complete(self._shutdown())
        self.loop.run_until_complete(self.loop.shutdown_default_executor())
        self.loop.close()

    async def _startup(self):
        self._to_app, self._from_app = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._task = self.loop.create_task(self.app(scope, self._to_app.get, self._from_app.put))
        await self._to_app.put({"type": "lifespan.startup"})
        msg = await self._from_app.get()
        assert msg["type"] == "lifespan.startup.complete", msg

    async def _shutdown(self):
        await self._to_app.put({"type": "lifespan.shutdown"})
        msg = await self._from_app.get()
        assert msg["type"] == "lifespan.shutdown.complete", msg
        await self._task

    def request(self, method, path, body=b"", headers=(), query=b""):
        return self.loop.run_until_complete(self._request(method, path, body, list(headers), query))

    async def _request(self, method, path, body, headers, query):
        sent = []
        done = asyncio.Event()
        delivered = False

        async def receive():
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                done.set()

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
            "state": {},
        }
        await self.app(scope, receive, send)
        done.set()
        # Let background tasks scheduled after the response finish.
        await asyncio.sleep(0)
        return sent
