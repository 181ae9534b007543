"""Every rule is documented the way users read it in the terminal, and the README cannot drift."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from leaklint.docs import REQUIRED_SECTIONS, markdown_table, rule_doc
from leaklint.registry import all_rules
from leaklint.rule import FixAvailability

RULES = list(all_rules().values())
README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_rule_metadata_and_sections(rule):
    assert re.fullmatch(r"LL\d{3}", rule.code)
    # ruff's naming convention: kebab-case, names the pattern, reads well after "allow"
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.name), rule.name
    assert not rule.name.startswith(("no-", "disallow-", "banned-", "avoid-"))
    assert rule.message and rule.family
    doc = rule_doc(rule)
    for section in REQUIRED_SECTIONS:
        assert section in doc, f"{rule.code} lacks {section!r}"
    if rule.fix_availability is not FixAvailability.NONE:
        assert "## Fix safety" in doc, f"{rule.code} has a fix but no '## Fix safety' section"
        assert rule.fix_title, f"{rule.code} has a fix but no fix_title"
        assert any(getattr(case, "fixed", None) for case in rule.invalid), f"{rule.code}: no example of its fix"


def test_names_are_unique():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))


def test_rule_command_prints_the_docs():
    code = RULES[-1].code
    out = subprocess.run([sys.executable, "-m", "leaklint", "rule", code], capture_output=True, text=True)
    assert out.returncode == 0
    assert out.stdout == rule_doc(RULES[-1])


def test_readme_rule_table_is_generated_from_the_rules():
    text = README.read_text()
    table = text.split("<!-- rules-table -->\n", 1)[1].split("<!-- /rules-table -->", 1)[0]
    assert table == markdown_table(), "README rule table is stale: run python -m leaklint.docs --update-readme"
