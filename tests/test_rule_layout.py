"""The rules' layout: one family package per family, one module per rule, no base class registered."""

import importlib
import pkgutil

import pytest

import leaklint.rules
from leaklint.registry import all_rules
from leaklint.rule import Rule

RULES = list(all_rules().values())


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_each_rule_has_its_own_module_in_its_family_package(rule):
    family = rule.family.replace("-", "_")
    stem = f"{rule.code.lower()}_{rule.name.replace('-', '_')}"
    assert rule.__module__ == f"leaklint.rules.{family}.{stem}"


def test_every_module_of_the_rules_package_is_found():
    modules = [m.name for m in pkgutil.walk_packages(leaklint.rules.__path__, prefix="leaklint.rules.")]
    assert {r.__module__ for r in RULES} <= set(modules)
    for name in modules:
        importlib.import_module(name)
    defined = {cls for cls in _subclasses(Rule) if cls.__module__.startswith("leaklint.rules.")}
    bases = {cls for cls in defined if not cls.__dict__.get("code")}
    assert bases, "the family base classes are Rule subclasses too"
    assert not bases & set(RULES)
    assert defined - bases == set(RULES)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
