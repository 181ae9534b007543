"""A minimal in-process ASGI client with lifespan, for ``probe``.

Why not httpx or TestClient: a client that keeps state between requests
(cookie jar, connection pool, portal threads) would itself show up as retained
memory, and both are optional dependencies of leaklint. This driver keeps no
per-request state, runs everything on one private event loop, and speaks just
enough ASGI 3 (http + lifespan) to drive a Starlette/FastAPI app.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode


@dataclass
class RequestSpec:
    """One concrete request, as written in a requests file or derived from a route."""

    method: str = "GET"
    path: str = "/"
    query: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    form: dict[str, Any] | None = None
    body: str | None = None
    upload: dict[str, Any] | None = None
    endpoint: str | None = None
    # also drive this request with the handler failing after it ran (--error-paths for one entry)
    error_path: bool = False

    def encode(self) -> tuple[list[tuple[bytes, bytes]], bytes, bytes]:
        """(headers, query_string, body) as bytes, computed once and reused."""
        headers = {k.lower(): str(v) for k, v in self.headers.items()}
        body = b""
        if self.upload is not None:
            body, ctype = _multipart(self.form or {}, self.upload)
            headers.setdefault("content-type", ctype)
        elif self.json is not None:
            body = jsonlib.dumps(self.json).encode()
            headers.setdefault("content-type", "application/json")
        elif self.form is not None:
            body = urlencode(self.form, doseq=True).encode()
            headers.setdefault("content-type", "application/x-www-form-urlencoded")
        elif self.body is not None:
            body = self.body.encode()
        if body or self.method.upper() in ("POST", "PUT", "PATCH"):
            headers["content-length"] = str(len(body))
        headers.setdefault("host", "testserver")
        q = self.query
        if isinstance(q, dict):
            qs = urlencode(q, doseq=True)
        elif isinstance(q, (list, tuple)):
            qs = urlencode(list(q), doseq=True)
        else:
            qs = str(q or "")
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        return raw, qs.encode("latin-1"), body


def _multipart(fields: dict[str, Any], upload: dict[str, Any]) -> tuple[bytes, str]:
    boundary = "leaklint-probe-boundary-7d1f"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    content = upload.get("content")
    data = content.encode() if isinstance(content, str) else bytes(content or b"")
    if not data and upload.get("size"):
        data = b"x" * int(upload["size"])
    fname = upload.get("filename", "upload.bin")
    ctype = upload.get("content_type", "application/octet-stream")
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; "
        f'name="{upload.get("field", "file")}"; filename="{fname}"\r\n'
        f"Content-Type: {ctype}\r\n\r\n"
    ).encode()
    parts.append(head + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    scope: dict[str, Any]
    error: str | None = None


class LifespanError(RuntimeError):
    """The app's startup failed: nothing can be probed."""


class AsgiDriver:
    """Drive one ASGI app: ``startup()``, any number of ``request()``, ``shutdown()``."""

    def __init__(self, app: Any):
        self.app = app
        self.loop = asyncio.new_event_loop()
        self.state: dict[str, Any] = {}
        self._lifespan_task: asyncio.Task[Any] | None = None
        self._to_app: asyncio.Queue[dict[str, Any]] | None = None
        self._from_app: asyncio.Queue[dict[str, Any]] | None = None
        self._jobs: asyncio.Queue[Any] | None = None
        self._server: asyncio.Task[None] | None = None
        # set by the probe: the app's ContextVars to check after each request (LL301, measured)
        self.context_watch: Any = None

    def startup(self) -> None:
        self.loop.run_until_complete(self._startup())

    async def _startup(self) -> None:
        self._to_app = asyncio.Queue()
        self._from_app = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        async def run() -> None:
            try:
                await self.app(scope, self._to_app.get, self._from_app.put)
            except BaseException as exc:  # apps without lifespan support raise here
                await self._from_app.put({"type": "leaklint.lifespan.unsupported", "error": repr(exc)})

        self._lifespan_task = self.loop.create_task(run())
        await self._to_app.put({"type": "lifespan.startup"})
        message = await self._from_app.get()
        if message["type"] == "lifespan.startup.failed":
            raise LifespanError(message.get("message") or "lifespan startup failed")
        if message["type"] != "lifespan.startup.complete":
            self._lifespan_task = None  # like uvicorn's lifespan="auto": carry on without

    def shutdown(self) -> None:
        try:
            if self._server is not None and self._jobs is not None:
                self._jobs.put_nowait(None)
                self.loop.run_until_complete(self._server)
            if self._lifespan_task is not None and not self._lifespan_task.done():
                self.loop.run_until_complete(self._shutdown())
        finally:
            self._drain_loop()
            self.loop.close()

    async def _shutdown(self) -> None:
        assert self._to_app is not None and self._from_app is not None
        await self._to_app.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self._from_app.get(), timeout=10)
            await asyncio.wait_for(self._lifespan_task, timeout=10)  # type: ignore[arg-type]
        except (asyncio.TimeoutError, Exception):
            pass

    def _drain_loop(self) -> None:
        pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        try:
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        except Exception:
            pass

    def request(self, spec: RequestSpec, encoded: tuple[Any, bytes, bytes] | None = None) -> Response:
        headers, qs, body = encoded or spec.encode()
        if self._server is None:
            self._jobs = asyncio.Queue()
            self._server = self.loop.create_task(self._serve())
        future = self.loop.create_future()
        self._jobs.put_nowait(((spec.method.upper(), spec.path, headers, qs, body), future))
        return self.loop.run_until_complete(future)

    async def _serve(self) -> None:
        """One long-lived task runs every request.

        anyio ties its worker threads to the root task; with a new
        ``run_until_complete`` task per request, every sync endpoint would start
        (and leave behind) a fresh thread.
        """
        assert self._jobs is not None
        while True:
            job = await self._jobs.get()
            if job is None:
                return
            args, future = job
            try:
                result = await self._request(*args)
            except BaseException as exc:  # pragma: no cover - _request catches app errors
                future.set_exception(exc)
            else:
                future.set_result(result)

    async def _request(self, method: str, path: str, headers: Any, qs: bytes, body: bytes) -> Response:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": qs,
            "root_path": "",
            "headers": list(headers),
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": dict(self.state),
            "extensions": {},
        }
        done = asyncio.Event()
        sent_body = False
        status = 0
        out_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()  # a streaming response listens for disconnect meanwhile
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = list(message.get("headers") or [])
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    done.set()

        error = None
        watch = self.context_watch
        context_before = watch.before() if watch is not None else None
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            exc.__traceback__ = None  # a kept traceback would pin frames and look like a leak
            if not status:
                status = 500
        finally:
            done.set()
            if watch is not None:
                watch.after(context_before)
        return Response(status, out_headers, b"".join(chunks), scope, error)
