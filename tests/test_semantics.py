"""The shared semantic layer: name resolution and FastAPI roles, on small real projects."""

import textwrap

import libcst as cst
import pytest

from leaklint import registry
from leaklint.engine import FixOptions, lint_source
from leaklint.runner import summarise_path
from leaklint.semantics import fastapi as web
from leaklint.semantics.context import FileContext
from leaklint.semantics.project import ProjectFacts


def project(tmp_path, files):
    paths = []
    for rel, code in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip())
        paths.append(str(path))
    mapped = {p: s for p, s, _ in (summarise_path(p) for p in paths)}
    facts = ProjectFacts.build(mapped.values())
    return mapped, facts


def qualify_calls(tmp_path, files, target):
    """Qualified names of every call in ``target``, as rules see them (with scopes)."""
    mapped, facts = project(tmp_path, files)
    path = str(tmp_path / target)
    summary = mapped[path]
    module = cst.parse_module((tmp_path / target).read_bytes())
    ctx = FileContext(path, b"", module, summary, facts)
    seen = {}

    class Collect(cst.CSTVisitor):
        def on_visit(self, node):
            ctx.stack.append(node)
            if isinstance(node, cst.Call):
                seen[module.code_for_node(node.func)] = sorted(ctx.qualify(node.func))
            return True

        def on_leave(self, node):
            ctx.stack.pop()

    module.visit(Collect())
    return seen, ctx, facts, summary


def test_aliases_relative_imports_and_reexports(tmp_path):
    seen, *_ = qualify_calls(tmp_path, {
        "app/__init__.py": "from .db import SessionLocal as SessionLocal\n",
        "app/db.py": """
            from sqlalchemy.orm import sessionmaker
            SessionLocal = sessionmaker()
        """,
        "app/api/__init__.py": "",
        "app/api/routes.py": """
            import sqlalchemy.orm as orm
            from sqlalchemy.orm import Session as S
            from ..db import SessionLocal as Local
            from app import SessionLocal

            def f():
                orm.sessionmaker()
                S()
                Local()
                SessionLocal()
        """,
    }, "app/api/routes.py")
    assert seen["orm.sessionmaker"] == ["sqlalchemy.orm.sessionmaker"]
    assert seen["S"] == ["sqlalchemy.orm.Session"]
    assert seen["Local"] == ["app.db.SessionLocal"]
    assert seen["SessionLocal"] == ["app.db.SessionLocal"]  # re-export followed


SHADOWING = {
    "parameter": ("def f(Session):\n    Session()\n", []),
    "module import": ("def f():\n    Session()\n", ["sqlalchemy.orm.Session"]),
    "local import": ("def f():\n    from contextvars import ContextVar as Session\n    Session()\n",
                     ["contextvars.ContextVar"]),
    "local assignment": ("def f():\n    Session = object\n    Session()\n", []),
    "global declaration": ("def f():\n    global Session\n    Session = Session\n    Session()\n",
                           ["sqlalchemy.orm.Session"]),
    "enclosing function": ("def outer(Session):\n    def inner():\n        Session()\n", []),
}


@pytest.mark.parametrize("case", sorted(SHADOWING))
def test_local_bindings_shadow_imports(tmp_path, case):
    body, expected = SHADOWING[case]
    code = "from sqlalchemy.orm import Session\n\n" + body
    seen, *_ = qualify_calls(tmp_path, {"m.py": code}, "m.py")
    assert seen["Session"] == expected


def test_roles_routes_dependencies_middleware_lifespan(tmp_path):
    mapped, facts = project(tmp_path, {
        "svc/__init__.py": "",
        "svc/app.py": """
            from contextlib import asynccontextmanager
            from fastapi import FastAPI
            from starlette.middleware.base import BaseHTTPMiddleware

            @asynccontextmanager
            async def lifespan(app):
                yield

            app = FastAPI(lifespan=lifespan)

            @app.middleware("http")
            async def timing(request, call_next):
                return await call_next(request)

            class Base(BaseHTTPMiddleware):
                pass

            class Audit(Base):
                async def dispatch(self, request, call_next):
                    return await call_next(request)

            class PureASGI:
                async def __call__(self, scope, receive, send):
                    pass

            @app.on_event("startup")
            def warm():
                pass
        """,
        "svc/deps.py": """
            def get_db():
                yield 1

            def get_user():
                return 1

            def audit():
                pass

            def plain():
                pass
        """,
        "svc/routes.py": """
            from typing import Annotated
            from fastapi import APIRouter, Depends, Security
            from starlette.routing import Route
            from .app import app
            from .deps import get_db, get_user, audit

            router = APIRouter(dependencies=[Depends(audit)])
            User = Annotated[dict, Security(get_user)]

            @router.get("/items/{item_id}")
            def read(item_id: int, db=Depends(get_db), user: User = None):
                return helper()

            def helper():
                return 1

            @app.post("/direct")
            def direct():
                pass

            def registered():
                pass

            async def starlette_endpoint(request):
                pass

            app.add_api_route("/registered", registered)
            routes = [Route("/s", starlette_endpoint)]

            def not_a_route():
                pass
        """,
    })
    by_module = {s.module: s for s in mapped.values()}
    app, deps, routes = by_module["svc.app"], by_module["svc.deps"], by_module["svc.routes"]
    assert web.function_roles(app, facts, "lifespan").startup
    assert web.function_roles(app, facts, "warm").startup
    assert web.function_roles(app, facts, "timing").middleware
    assert web.function_roles(app, facts, "Audit.dispatch").middleware  # through a linted base class
    assert web.function_roles(app, facts, "PureASGI.__call__").middleware
    for name in ("get_db", "get_user", "audit"):
        assert web.function_roles(deps, facts, name).dependency, name
    assert not web.function_roles(deps, facts, "plain").per_request
    read = web.function_roles(routes, facts, "read")
    assert read.route and read.route_verb == "get" and read.route_path == "/items/{item_id}"
    for name in ("direct", "registered", "starlette_endpoint"):
        assert web.function_roles(routes, facts, name).route, name
    assert not web.function_roles(routes, facts, "not_a_route").per_request
    reached = {q[len(routes.module) + 1:] for q in facts.per_request if q.startswith(routes.module + ".")}
    assert reached >= {"read", "helper", "direct"}
    assert "not_a_route" not in reached


def test_flask_style_decorator_is_not_a_route(tmp_path):
    mapped, facts = project(tmp_path, {"site.py": """
        from flask import Flask
        app = Flask(__name__)

        @app.get("/")
        def index():
            pass
    """})
    summary = next(iter(mapped.values()))
    assert not web.function_roles(summary, facts, "index").route


def test_cheap_look_skips_libcst_for_files_no_rule_can_match(tmp_path):
    mapped, facts = project(tmp_path, {
        "plain.py": "import os\n\ndef f(path):\n    return os.listdir(path)\n",
        "models.py": "from sqlalchemy import Column, Integer\n\nid = Column(Integer)\n",
        "db.py": "from sqlalchemy.orm import Session\n\ndef f(e):\n    s = Session(e)\n    return s.query(1).all()\n",
    })
    rules = registry.classes(registry.select(["LL1"], [], []))
    parsed = {}
    for path, summary in mapped.items():
        with open(path, "rb") as handle:
            result = lint_source(path, handle.read(), summary, facts, rules, FixOptions())
        parsed[path.rsplit("/", 1)[1]] = (result.parsed, [d.code for d in result.diagnostics])
    assert parsed["plain.py"] == (False, [])
    assert parsed["models.py"] == (False, [])  # imports SQLAlchemy but opens no session
    assert parsed["db.py"] == (True, ["LL103"])


def test_cheap_look_of_module_containers_and_http_clients(tmp_path):
    """LL201 parses a module only when a function grows one of its containers in place, LL105 only
    when a per-request function makes a client other than as a `with` item; both still fire."""
    app = "from fastapi import FastAPI\nimport httpx\n\napp = FastAPI()\nSEEN = {}\n\n"
    mapped, facts = project(tmp_path, {
        "reads.py": app + "@app.get('/a')\nasync def a(k: str):\n    async with httpx.AsyncClient() as c:\n"
                          "        await c.get(k)\n    return SEEN.get(k)\n",
        "grows.py": app + "@app.get('/b')\nasync def b(k: str):\n    SEEN[k] = 1\n",
        "opens.py": app + "@app.get('/c')\nasync def c(k: str):\n    async with httpx.AsyncClient() as ok:\n"
                          "        pass\n    client = httpx.AsyncClient()\n    return (await client.get(k)).text\n",
    })
    rules = registry.classes(registry.select(["LL105", "LL201"], [], []))
    parsed = {}
    for path, summary in mapped.items():
        with open(path, "rb") as handle:
            result = lint_source(path, handle.read(), summary, facts, rules, FixOptions())
        parsed[path.rsplit("/", 1)[1]] = (result.parsed, [d.code for d in result.diagnostics])
    assert parsed == {"reads.py": (False, []), "grows.py": (True, ["LL201"]), "opens.py": (True, ["LL105"])}


def test_namespace_package_modules_resolve_across_files(tmp_path):
    """``app/socket`` has no ``__init__.py`` (PEP 420) but lives in the regular package ``app``."""
    files = {
        "app/__init__.py": "",
        "app/socket/db.py": """
            from sqlalchemy.orm import sessionmaker
            SessionLocal = sessionmaker()
        """,
        "app/socket/main.py": """
            from app.socket.db import SessionLocal
            from .db import SessionLocal as Relative

            def f():
                SessionLocal()
                Relative()
        """,
        "tools/scripts/job.py": "from app.socket.db import SessionLocal\n",
    }
    paths = []
    for rel, code in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(code).lstrip())
        paths.append(str(path))
    mapped = {p: s for p, s, _ in (summarise_path(p, roots=(str(tmp_path),)) for p in paths)}
    modules = sorted(s.module for s in mapped.values())
    assert modules == ["app", "app.socket.db", "app.socket.main", "tools.scripts.job"]
    facts = ProjectFacts.build(mapped.values())
    main = mapped[str(tmp_path / "app/socket/main.py")]
    assert {facts.canonical(q) for q in main.called} == {"app.socket.db.SessionLocal"}


def test_test_modules_are_known_by_their_package_path(tmp_path):
    mapped, _ = project(tmp_path, {
        "app/__init__.py": "", "app/tests/__init__.py": "", "app/tests/test_db.py": "x = 1\n",
        "app/conftest.py": "x = 1\n", "app/db.py": "x = 1\n", "app/latest_test.py": "x = 1\n",
        "app/testing_utils.py": "x = 1\n",
    })
    tests = sorted(s.module for s in mapped.values() if s.is_test_module)
    assert tests == ["app.conftest", "app.latest_test", "app.tests.test_db"]
