"""FastAPI / Starlette semantics: routes, dependencies, middleware, startup code, request objects.

The single place that answers "is this function a route? a dependency? a middleware? does it run
per request?". Rules ask these questions; they never re-derive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Set

import libcst as cst

from leaklint.semantics.names import Names, matches
from leaklint.semantics.project import ProjectFacts
from leaklint.semantics.summary import APP_CLASSES, ROUTE_VERBS, ROUTER_CLASSES, ModuleSummary

BASE_HTTP_MIDDLEWARE = frozenset({"starlette.middleware.base.BaseHTTPMiddleware",
                                  "fastapi.middleware.base.BaseHTTPMiddleware"})
UPLOAD_FILE = frozenset({"fastapi.UploadFile", "fastapi.datastructures.UploadFile",
                         "starlette.datastructures.UploadFile"})
REQUEST = frozenset({"fastapi.Request", "fastapi.requests.Request", "starlette.requests.Request"})
FILE_PARAM = frozenset({"fastapi.File", "fastapi.param_functions.File", "fastapi.params.File"})
WEB_PACKAGES = ("fastapi", "starlette")


@dataclass(frozen=True)
class Roles:
    route: bool = False
    route_verb: str = ""
    route_path: str = ""
    dependency: bool = False
    middleware: bool = False
    startup: bool = False  # on_event("startup") handler or a lifespan function

    @property
    def per_request(self) -> bool:
        return self.route or self.dependency or self.middleware


#: packages whose ``.get``/``.patch``/``.post`` are no route decorators (``@mock.patch("...")``)
NOT_ROUTERS = frozenset({"unittest", "mock", "pytest", "pytest_mock", "requests", "httpx", "aiohttp", "respx",
                         "responses"})


def uses_web_framework(summary: ModuleSummary) -> bool:
    return summary.imports_from(*WEB_PACKAGES)


def receiver_kind(receiver: str, summary: ModuleSummary, project: ProjectFacts) -> Optional[str]:
    """'app' / 'router' for a FastAPI/Starlette app or router, 'external' for an object imported
    from code we do not lint (trusted only in modules that import fastapi/starlette), else None."""
    definition = project.definition(receiver)
    if definition is None:
        own = receiver.startswith(summary.module + ".") and receiver.count(".") == summary.module.count(".") + 1
        if own:
            definition = summary.definitions.get(receiver.rpartition(".")[2])
    if definition is not None:
        if definition.kind == "call" and matches(frozenset(definition.callee), APP_CLASSES):
            return "app"
        if definition.kind == "call" and matches(frozenset(definition.callee), ROUTER_CLASSES):
            return "router"
        if definition.kind == "call" and any(project.definition(c) is not None and project.definition(c).kind == "class"
                                             for c in definition.callee):
            return None
        return None
    if project.is_project_name(receiver) or receiver.split(".")[0] in NOT_ROUTERS:
        return None
    return "external" if uses_web_framework(summary) and "." in receiver else None


def function_roles(summary: ModuleSummary, project: ProjectFacts, path: str) -> Roles:
    """Roles of the function ``path`` (``name`` or ``Class.method``) in ``summary``'s module."""
    facts = summary.functions.get(path)
    if facts is None:
        return Roles()
    qualified = f"{summary.module}.{path}"
    route = middleware = startup = False
    verb = route_path = ""
    for candidates, first_arg in facts.decorators:
        for candidate in candidates:
            receiver, _, attr = project.canonical(candidate).rpartition(".")
            if not receiver:
                continue
            kind = receiver_kind(receiver, summary, project)
            if kind is None:
                continue
            if attr in ROUTE_VERBS:
                router = project.definition(receiver)
                prefix = router.route_prefix.rstrip("/") if router is not None else ""
                route, verb, route_path = True, attr, prefix + (first_arg or "") if first_arg is not None else ""
            elif attr == "middleware":
                middleware = True
            elif attr == "on_event" and first_arg == "startup":
                startup = True
    if facts.local_route is not None:
        route, (verb, route_path) = True, facts.local_route
    if qualified in project.endpoints:
        route = True
        if not verb:
            verb, route_path = project.endpoint_routes.get(qualified, (verb, route_path))
    if qualified in project.lifespans:
        startup = True
    if facts.in_class and path.endswith(".dispatch") and is_base_http_middleware(
            f"{summary.module}.{facts.in_class}", project):
        middleware = True
    if facts.in_class and path.endswith(".__call__") and facts.params[1:4] == ("scope", "receive", "send") \
            and not _is_asgi_endpoint_class(f"{summary.module}.{facts.in_class}", summary, project):
        middleware = True
    return Roles(route=route, route_verb=verb, route_path=route_path, dependency=qualified in project.dependencies,
                 middleware=middleware, startup=startup)


#: ASGI callables built for one request (a response, a class-based endpoint): their state dies with it
PER_REQUEST_ASGI_BASES = ("starlette.responses.", "fastapi.responses.", "starlette.endpoints.")
#: the framework's own routing (``BaseRoute``, ``Router``, ``Mount``): it dispatches to routes, which
#: are roots of their own; its ``__call__`` is no middleware (when starlette/fastapi are linted too)
ROUTING = ("starlette.routing.", "fastapi.routing.")


def _is_asgi_endpoint_class(class_qualified: str, summary: ModuleSummary, project: ProjectFacts) -> bool:
    """A ``Response`` or ``HTTPEndpoint`` subclass: an ASGI app made for one request, not a middleware;
    or a routing class."""
    return project.canonical(class_qualified).startswith(ROUTING) or \
        _subclasses(class_qualified, project, PER_REQUEST_ASGI_BASES + ROUTING)


def _subclasses(class_qualified: str, project: ProjectFacts, prefixes, depth: int = 0) -> bool:
    if depth > 10:
        return False
    definition = project.definition(project.canonical(class_qualified))
    if definition is None or definition.kind != "class":
        return False
    bases = project.canonical_all(definition.bases)
    if any(b.startswith(prefixes) for b in bases):
        return True
    return any(_subclasses(b, project, prefixes, depth + 1) for b in bases if project.is_project_name(b))


def is_base_http_middleware(class_qualified: str, project: ProjectFacts, depth: int = 0) -> bool:
    """Does the class (directly or through linted base classes) subclass ``BaseHTTPMiddleware``?"""
    if depth > 10:
        return False
    definition = project.definition(project.canonical(class_qualified))
    if definition is None or definition.kind != "class":
        return False
    bases = project.canonical_all(definition.bases)
    if matches(bases, BASE_HTTP_MIDDLEWARE):
        return True
    return any(is_base_http_middleware(b, project, depth + 1) for b in bases if project.is_project_name(b))


def has_per_request_code(summary: ModuleSummary, project: ProjectFacts) -> bool:
    """Cheap look shared by rules that only report in per-request code: does any function of this
    module run per request (project-wide reachability)? Exact for ``runs_per_request``."""
    prefix = summary.module + "."
    return any(prefix + path in project.per_request for path in summary.functions)


def annotation_names(ctx, param: cst.Param) -> Names:
    """Qualified names in a parameter's annotation, looking inside ``Annotated[...]``/``Optional``."""
    if param.annotation is None:
        return frozenset()
    names: Set[str] = set()
    stack = [param.annotation.annotation]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Subscript):
            stack.append(node.value)
            for element in node.slice:
                if isinstance(element.slice, cst.Index):
                    stack.append(element.slice.value)
        elif isinstance(node, cst.BinaryOperation):  # UploadFile | None
            stack.extend([node.left, node.right])
        elif isinstance(node, (cst.Name, cst.Attribute)):
            names |= ctx.qualify(node)
        elif isinstance(node, cst.SimpleString):
            pass
    return frozenset(names)


def is_upload_param(ctx, param: cst.Param) -> bool:
    """``file: UploadFile`` (any alias, also in ``Annotated``/``Optional``) or ``= File(...)``."""
    if matches(annotation_names(ctx, param), UPLOAD_FILE):
        return True
    default = param.default
    return isinstance(default, cst.Call) and matches(ctx.qualify(default.func), FILE_PARAM) and \
        not matches(annotation_names(ctx, param), frozenset({"builtins.bytes"}))


def _annotated_calls(param: cst.Param) -> Iterable[cst.Call]:
    """The calls in an ``Annotated[T, File(), Depends(x)]`` annotation's metadata."""
    annotation = param.annotation.annotation if param.annotation is not None else None
    if isinstance(annotation, cst.Subscript):
        for element in annotation.slice[1:]:
            if isinstance(element.slice, cst.Index) and isinstance(element.slice.value, cst.Call):
                yield element.slice.value


def is_bytes_file_param(ctx, param: cst.Param) -> bool:
    """``data: bytes = File(...)`` / ``data: Annotated[bytes, File()]``: the upload as one ``bytes``."""
    if not matches(annotation_names(ctx, param), frozenset({"builtins.bytes"})):
        return False
    if matches(annotation_names(ctx, param), UPLOAD_FILE):
        return False
    calls = list(_annotated_calls(param)) + ([param.default] if isinstance(param.default, cst.Call) else [])
    return any(matches(ctx.qualify(call.func), FILE_PARAM) for call in calls)


def annotated_depends(ctx, param: cst.Param) -> Names:
    """``x: Annotated[T, Depends(dep)]`` -> dep's qualified names."""
    out: Set[str] = set()
    for call in _annotated_calls(param):
        out |= depends_target(ctx, call)
    return frozenset(out)


def is_request_param(ctx, param: cst.Param) -> bool:
    return matches(annotation_names(ctx, param), REQUEST)


def roles_of(ctx, fn: cst.FunctionDef) -> Roles:
    return function_roles(ctx.summary, ctx.project, ctx.function_path(fn))


def runs_per_request(ctx, fn: cst.FunctionDef) -> bool:
    """Is ``fn`` reached, through calls in any linted module, from a route, dependency or middleware?"""
    return ctx.qualified_function_name(fn) in ctx.project.per_request


def request_path(ctx, fn: cst.FunctionDef) -> str:
    """How ``fn`` runs per request, for messages: ``GET /items -> get_store() -> Store.__init__``."""
    from leaklint.semantics.callgraph import request_path as path_of

    return path_of(ctx.project, ctx.qualified_function_name(fn))


def depends_target(ctx, default: Optional[cst.BaseExpression]) -> Names:
    """For ``Depends(x)`` / ``Security(x)``: x's qualified names."""
    from leaklint.semantics.summary import DEPENDS_CALLEES

    if not isinstance(default, cst.Call) or not matches(ctx.qualify(default.func), DEPENDS_CALLEES):
        return frozenset()
    if default.args and default.args[0].keyword is None:
        return ctx.qualify(default.args[0].value)
    return frozenset()


def handler_params(fn: cst.FunctionDef) -> Iterable[cst.Param]:
    params = fn.params
    yield from params.posonly_params
    yield from params.params
    yield from params.kwonly_params
