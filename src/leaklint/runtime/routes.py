"""Route templates: enumerate an app's endpoints and name the one a request hit.

Keys are always ``METHOD /template`` (never the raw path) so that neither the
watcher nor a report can grow one bucket per distinct URL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

UNMATCHED = "UNMATCHED"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


@dataclass
class Endpoint:
    """One (method, route template) pair and what serves it."""

    method: str
    route: str
    endpoint: Callable[..., Any] | None = None
    dependant: Any = None
    needs_params: bool = False
    route_obj: Any = field(default=None, repr=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"


def normalize_method(method: str) -> str:
    """Clients may send any token as a method; fold unknown ones to keep keys bounded."""
    m = (method or "").upper()
    return m if m in KNOWN_METHODS else "OTHER"


def endpoint_key(method: str, template: str | None) -> str:
    return f"{normalize_method(method)} {template}" if template else UNMATCHED


def find_routes(app: Any) -> list[Any] | None:
    """Follow ``.app`` through ASGI wrappers down to something with routes."""
    seen = set()
    while app is not None and id(app) not in seen:
        seen.add(id(app))
        routes = getattr(app, "routes", None)
        if isinstance(routes, (list, tuple)):
            return list(routes)
        router = getattr(app, "router", None)
        if router is not None and isinstance(getattr(router, "routes", None), (list, tuple)):
            return list(router.routes)
        app = getattr(app, "app", None)
    return None


def _flat_routes(routes: list[Any]) -> list[Any]:
    """FastAPI >= 0.16x keeps included routers unflattened; its public iterator flattens them."""
    try:
        from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
    except Exception:
        return routes
    try:
        return list(iter_route_contexts(routes))
    except Exception:
        return routes


def _template(route: Any) -> str | None:
    return getattr(route, "path_format", None) or getattr(route, "path", None)


def _mount_prefix(route: Any) -> str:
    """A Mount's own path ("/shop"); its path_format ends in a catch-all "/{path}"."""
    return (getattr(route, "path", None) or "").rstrip("/")


def _is_mount(route: Any) -> bool:
    return (
        getattr(route, "methods", None) is None
        and getattr(route, "endpoint", None) is None
        and isinstance(getattr(route, "routes", None), (list, tuple))
    )


def _docs_paths(app: Any) -> set[str]:
    """FastAPI's own docs routes are not the user's endpoints."""
    while app is not None and not hasattr(app, "openapi_url"):
        app = getattr(app, "app", None)
    if app is None:
        return set()
    attrs = ("openapi_url", "docs_url", "redoc_url", "swagger_ui_oauth2_redirect_url")
    return {value for value in (getattr(app, a, None) for a in attrs) if value}


def _needs_params(route: Any, dependant: Any) -> bool:
    if getattr(route, "param_convertors", None):
        return True
    if dependant is None:
        return False
    try:
        from fastapi.dependencies.utils import get_flat_dependant

        flat = get_flat_dependant(dependant)
    except Exception:
        flat = dependant
    if getattr(flat, "path_params", None):
        return True
    for group in ("query_params", "header_params", "cookie_params", "body_params"):
        for f in getattr(flat, group, None) or []:
            if _field_required(f):
                return True
    return False


def _field_required(f: Any) -> bool:
    req = getattr(f, "required", None)
    if isinstance(req, bool):
        return req
    info = getattr(f, "field_info", None)
    is_req = getattr(info, "is_required", None)
    if callable(is_req):
        try:
            return bool(is_req())
        except Exception:
            return False
    return False


def iter_endpoints(app: Any, include_docs: bool = False) -> Iterator[Endpoint]:
    """Every HTTP (method, template) the app serves, mounts included. HEAD is implied by GET."""
    routes = find_routes(app)
    if routes is None:
        return
    skip = set() if include_docs else _docs_paths(app)
    yield from _walk(_flat_routes(routes), "", skip)


def _walk(routes: list[Any], prefix: str, skip: set[str]) -> Iterator[Endpoint]:
    for route in routes:
        template = _template(route)
        if template is None:
            continue
        if _is_mount(route):
            yield from _walk(_flat_routes(list(route.routes)), prefix + _mount_prefix(route), skip)
            continue
        methods = getattr(route, "methods", None)
        if not methods:
            continue  # websocket routes
        full = prefix + template
        if full in skip:
            continue
        dependant = getattr(route, "dependant", None)
        needs = _needs_params(route, dependant)
        for method in sorted(methods):
            if method == "HEAD" and "GET" in methods:
                continue
            yield Endpoint(method, full, getattr(route, "endpoint", None), dependant, needs, route)


def template_from_scope(
    scope: dict[str, Any], routes: list[Any] | None = None, root_path_before: str | None = None
) -> str | None:
    """The template the router matched, read after the app has handled the request.

    Starlette stores the matched route in ``scope["route"]``; FastAPI's included
    routers put the full (prefixed) template in its effective route context.
    A mounted sub-app changes ``root_path`` and sees only its own part of the
    path; then (and when no route was recorded) we match the app's routes ourselves.
    """
    mounted = root_path_before is not None and scope.get("root_path", "") != root_path_before
    if not mounted:
        fastapi_scope = scope.get("fastapi")
        if isinstance(fastapi_scope, dict):
            ctx = fastapi_scope.get("effective_route_context")
            tpl = getattr(ctx, "path_format", None) if ctx is not None else None
            if tpl:
                return tpl
        route = scope.get("route")
        if route is not None:
            return _template(route)
    if routes is None:
        return None
    probe_scope = dict(scope)
    if root_path_before is not None:
        probe_scope["root_path"] = root_path_before
    return match_template(routes, probe_scope)


def match_template(routes: list[Any], scope: dict[str, Any], prefix: str = "") -> str | None:
    """Match a (copy of the) request scope against routes, recursing into mounts."""
    partial = None
    for route in _flat_routes(routes):
        matches = getattr(route, "matches", None)
        if matches is None:
            continue
        probe_scope = dict(scope)
        probe_scope.pop("fastapi", None)
        try:
            match, child = matches(probe_scope)
        except Exception:
            continue
        name = getattr(match, "name", "")
        if name == "FULL":
            tpl = _template(route)
            if tpl is None:
                return None
            if _is_mount(route):
                probe_scope.update(child)
                return match_template(list(route.routes), probe_scope, prefix + _mount_prefix(route))
            return prefix + tpl
        if name == "PARTIAL" and partial is None:
            partial = route
    if partial is not None:
        tpl = _template(partial)
        return prefix + tpl if tpl else None
    return None
