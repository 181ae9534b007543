"""The ``--requests-file``: how to call endpoints that need parameters or a body.

TOML::

    [[requests]]
    method = "POST"
    path = "/items"
    json = { name = "widget" }

    [[requests]]
    method = "POST"
    path = "/upload"
    upload = { field = "file", filename = "a.txt", content = "hello" }
    error_path = true   # also probe it with the handler failing after it ran

JSON: the same as ``{"requests": [...]}`` or a bare list. Mistakes are reported
with the file and entry number, since this file usually lives in CI config.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .driver import RequestSpec

_KEYS = {"method", "path", "query", "headers", "json", "form", "body", "upload", "endpoint", "error_path"}
_UPLOAD_KEYS = {"field", "filename", "content", "size", "content_type"}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestsFileError(ValueError):
    """A requests file that cannot be read or does not describe requests."""


def _load_toml(text: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - leaklint depends on tomli there
        import tomli as tomllib
    return tomllib.loads(text)


def load_requests_file(path: str | os.PathLike[str]) -> list[RequestSpec]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise RequestsFileError(f"cannot read requests file {path}: {exc.strerror or exc}") from None
    name = str(path)
    # By extension; otherwise JSON first (TOML's "[[requests]]" is not valid JSON).
    loaders = [json.loads] if name.endswith(".json") else [_load_toml] if name.endswith(".toml") else [json.loads, _load_toml]
    data: Any = None
    for i, loader in enumerate(loaders):
        try:
            data = loader(text)
            break
        except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
            if i == len(loaders) - 1:
                raise RequestsFileError(f"{name}: not valid {'JSON' if loader is json.loads else 'TOML'}: {exc}") from None
    return parse_requests(data, name)


def parse_requests(data: Any, source: str = "requests") -> list[RequestSpec]:
    if isinstance(data, dict):
        entries = data.get("requests", data.get("request"))
        extra = set(data) - {"requests", "request"}
        if entries is None or extra:
            raise RequestsFileError(f"{source}: expected a 'requests' list (found keys: {', '.join(sorted(data))})")
    else:
        entries = data
    if not isinstance(entries, list) or not entries:
        raise RequestsFileError(f"{source}: 'requests' must be a non-empty list")
    return [_entry(e, f"{source}: request #{i + 1}") for i, e in enumerate(entries)]


def _entry(entry: Any, where: str) -> RequestSpec:
    if not isinstance(entry, dict):
        raise RequestsFileError(f"{where}: expected a table/object, got {type(entry).__name__}")
    unknown = set(entry) - _KEYS
    if unknown:
        raise RequestsFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    method = str(entry.get("method", "GET")).upper()
    if method not in _METHODS:
        raise RequestsFileError(f"{where}: unsupported method {method!r}")
    path = entry.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise RequestsFileError(f"{where}: 'path' must be a string starting with '/'")
    if "?" in path:
        path, _, qs = path.partition("?")
        if "query" in entry:
            raise RequestsFileError(f"{where}: give the query either in 'path' or in 'query', not both")
        entry = dict(entry, query=qs)
    headers = entry.get("headers") or {}
    if not isinstance(headers, dict):
        raise RequestsFileError(f"{where}: 'headers' must be a table/object")
    form = entry.get("form")
    if form is not None and not isinstance(form, dict):
        raise RequestsFileError(f"{where}: 'form' must be a table/object")
    upload = entry.get("upload")
    if upload is not None:
        if not isinstance(upload, dict) or set(upload) - _UPLOAD_KEYS:
            raise RequestsFileError(f"{where}: 'upload' takes {', '.join(sorted(_UPLOAD_KEYS))}")
    bodies = [k for k in ("json", "body", "upload") if entry.get(k) is not None]
    if len(bodies) > 1 or (form is not None and ("json" in bodies or "body" in bodies)):
        raise RequestsFileError(f"{where}: give only one of json, body, form/upload")
    endpoint = entry.get("endpoint")
    if endpoint is not None and (not isinstance(endpoint, str) or " /" not in endpoint):
        raise RequestsFileError(f"{where}: 'endpoint' must look like \"POST /items/{{item_id}}\"")
    error_path = entry.get("error_path", False)
    if not isinstance(error_path, bool):
        raise RequestsFileError(f"{where}: 'error_path' must be true or false")
    body = entry.get("body")
    return RequestSpec(
        method=method,
        path=path,
        query=entry.get("query"),
        headers={str(k): str(v) for k, v in headers.items()},
        json=entry.get("json"),
        form=form,
        body=None if body is None else str(body),
        upload=upload,
        endpoint=endpoint,
        error_path=error_path,
    )
