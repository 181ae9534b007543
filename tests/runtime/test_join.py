"""Joining findings to endpoint code spans is pure data: test it with hand-written findings."""

import ll_leaky_app
import ll_leaky_deps
from leaklint.runtime.codemap import code_map
from leaklint.runtime.join import describe, join_findings
from leaklint.runtime.routes import iter_endpoints

from helpers import line_of


def finding(code, module, row):
    return {
        "code": code,
        "name": "x",
        "message": f"{code} message",
        "filename": module.__file__,
        "location": {"row": row, "column": 1},
        "end_location": {"row": row, "column": 9},
        "fix": None,
        "noqa_row": row,
        "url": None,
    }


def endpoint(key):
    return next(e for e in iter_endpoints(ll_leaky_app.app) if e.key == key)


def test_code_map_covers_handler_dependencies_and_callees():
    leak = endpoint("GET /leak")
    spans = code_map(leak.endpoint, leak.dependant)
    assert [(s["role"], s["name"]) for s in spans] == [("handler", "leak"), ("calls", "remember")]
    dep = endpoint("GET /leak-dep")
    roles = {(s["role"], s["name"]) for s in code_map(dep.endpoint, dep.dependant)}
    assert ("dependency", "get_session") in roles and ("calls", "Session.__init__") in roles


def test_findings_are_attached_by_span_and_role():
    dep = endpoint("GET /leak-dep")
    spans = code_map(dep.endpoint, dep.dependant)
    inside = finding("LL101", ll_leaky_deps, line_of(ll_leaky_deps, "OPEN_SESSIONS.append(session)  # leak"))
    outside = finding("LL102", ll_leaky_deps, line_of(ll_leaky_deps, "def get_fixed_session"))
    other_file = finding("LL103", ll_leaky_app, line_of(ll_leaky_app, "def clean"))
    joined = join_findings(spans, [inside, outside, other_file])
    assert [(j["code"], j["role"], j["function"]) for j in joined] == [("LL101", "dependency", "get_session")]
    text = describe({"key": "GET /leak-dep", "growth_phrase": "retains 3.1 KB/request"}, joined)
    assert text == f"GET /leak-dep retains 3.1 KB/request; its dependency get_session has LL101 at ll_leaky_deps.py:{inside['location']['row']}"


def test_routes_enumerate_included_routers_with_full_template():
    keys = {e.key: e.needs_params for e in iter_endpoints(ll_leaky_app.app)}
    assert keys["GET /api/v1/items/{item_id}"] is True
    assert keys["GET /leak"] is False and keys["POST /upload"] is True
    assert not any(k.endswith(("/docs", "/openapi.json")) for k in keys)
