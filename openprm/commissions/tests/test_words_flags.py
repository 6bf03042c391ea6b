"""A condition on a flag (``customer.new``) reads by the operator and the value(s), not the field alone:
``ne true`` is "existing", ``in [true, false]`` is either."""

from __future__ import annotations

from typing import Any

import pytest

from openprm.commissions.selectors.words import rules_words


def words(op: str, value: Any) -> str:
    cond = {"field": "customer.new", "op": op, "value": value}
    rule = {"key": "r", "event": "purchase", "reward": {"type": "percent", "rate": 10}}
    rows, _, errors = rules_words({"rules": [{**rule, "conditions": {"all": [cond]}}]}, "EUR")
    assert errors == []
    return str(rows[0]["words"])


@pytest.mark.parametrize(
    ("op", "value", "said"),
    [
        ("eq", True, "if the customer is new,"),
        ("eq", False, "if the customer is existing,"),
        ("ne", True, "if the customer is existing,"),
        ("ne", False, "if the customer is new,"),
        ("in", [True], "if the customer is new,"),
        ("in", [False], "if the customer is existing,"),
        ("in", [True, False], "if the customer is new or existing,"),
        ("not_in", [True], "if the customer is existing,"),
        ("not_in", [False], "if the customer is new,"),
        ("not_in", [True, False], "if never (the customer is neither new nor existing),"),
    ],
)
def test_a_flag_condition_reads_by_its_operator_and_values(op: str, value: Any, said: str) -> None:
    assert said in words(op, value)
