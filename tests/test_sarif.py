"""SARIF for code scanning: valid against the SARIF 2.1.0 schema (OASIS errata01, tests/data), rule
help and pages, fingerprints shared with the baseline, %SRCROOT%-relative URIs, invocations."""

import json
import os
import re
from pathlib import Path

import pytest

from _infra import LL101_SAFE, LL103, invoke, write
from leaklint import rule_pages
from leaklint.registry import all_rules

jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra")
SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
ROOT = Path(__file__).resolve().parents[1]


def _sarif(tmp_path, monkeypatch, *args):
    result = invoke(["--jobs", "1", "--output-format", "sarif", *args], tmp_path, monkeypatch)
    return result.code, json.loads(result.out)


@pytest.fixture()
def project(tmp_path):
    write(tmp_path, {"pyproject.toml": "[tool.leaklint]\n", "app/__init__.py": "", "app/db.py": LL101_SAFE,
                     "app/count.py": LL103})
    return tmp_path


def test_the_output_is_valid_sarif_2_1_0(project, monkeypatch):
    code, doc = _sarif(project, monkeypatch, ".")
    assert code == 1
    jsonschema.validate(doc, SCHEMA)
    assert [r["ruleId"] for r in doc["runs"][0]["results"]] == ["LL103", "LL101"]


def test_rules_carry_what_code_scanning_shows(project, monkeypatch):
    _, doc = _sarif(project, monkeypatch, ".")
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["version"] and driver["informationUri"].startswith("https://")
    rules = {r["id"]: r for r in driver["rules"]}
    assert set(rules) == set(all_rules())
    ll101 = rules["LL101"]
    assert ll101["helpUri"].endswith("/docs/rules/LL101.md")
    short = ll101["shortDescription"]["text"]
    assert short.startswith("Finds a generator") and short.endswith(".")
    full = ll101["fullDescription"]["text"]
    assert not full.startswith(" ") and "\n    " not in full  # dedented
    assert ll101["help"]["markdown"].startswith("# yielded-session-without-finally (LL101)")
    assert "## Why is this bad?" in ll101["help"]["markdown"]
    for code, rule in rules.items():  # a sentence, not the message template
        assert not re.search(r"\{[a-z_]+\}", rule["shortDescription"]["text"]), code
        assert rule["shortDescription"]["text"].endswith("."), code


def test_uris_are_relative_to_srcroot(project, monkeypatch):
    _, doc = _sarif(project, monkeypatch, ".")
    run = doc["runs"][0]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == project.resolve().as_uri() + "/"
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations == [{"uri": "app/count.py", "uriBaseId": "%SRCROOT%"},
                         {"uri": "app/db.py", "uriBaseId": "%SRCROOT%"}]
    assert run["invocations"] == [{"executionSuccessful": True}]


def test_fingerprints_survive_moved_lines(project, monkeypatch):
    _, before = _sarif(project, monkeypatch, ".")
    db = project / "app" / "db.py"
    db.write_text('"""Sessions."""\nimport os\n\n' + db.read_text())
    _, after = _sarif(project, monkeypatch, ".")
    prints = [[r["partialFingerprints"]["leaklint/v1"] for r in d["runs"][0]["results"]] for d in (before, after)]
    lines = [[r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in d["runs"][0]["results"]]
             for d in (before, after)]
    assert prints[0] == prints[1] and lines[0] != lines[1]


def test_a_failed_file_makes_the_invocation_unsuccessful(project, monkeypatch):
    os.environ.pop("LEAKLINT_DEBUG", None)
    _, doc = _sarif(project, monkeypatch, "app/db.py", "missing.py")
    invocation = doc["runs"][0]["invocations"][0]
    jsonschema.validate(doc, SCHEMA)
    assert invocation["executionSuccessful"] in (True, False)  # a missing path is not a tool failure


def test_every_rule_has_its_generated_page():
    assert rule_pages.stale(str(ROOT / "docs" / "rules")) == [], "run `python -m leaklint.rule_pages`"
    for rule in all_rules().values():
        assert (ROOT / "docs" / "rules" / f"{rule.code}.md").read_text().count("## What it does") == 1
