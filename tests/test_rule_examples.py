"""Every rule's inline valid/invalid examples, through the real engine."""

import pytest

from leaklint.registry import all_rules
from leaklint.testing import check_example, iter_examples

CASES = list(iter_examples(all_rules().values()))


@pytest.mark.parametrize("rule,example", [(r, e) for _, r, e in CASES], ids=[i for i, _, _ in CASES])
def test_example(rule, example):
    check_example(rule, example)


def test_every_rule_has_examples():
    for code, rule in all_rules().items():
        if code.startswith("LL0"):
            continue
        assert rule.valid, f"{code} has no valid examples"
        assert rule.invalid, f"{code} has no invalid examples"
