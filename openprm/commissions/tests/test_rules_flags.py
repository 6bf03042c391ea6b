"""A flag field (``customer.new``) takes ``true``/``false`` only: the string "true" or the number 1 never
matches a flag (the engine compares flags with flags), so the API refuses it with a 422 naming the value's
path; the rule editor still saves "yes" as ``true``."""

from __future__ import annotations

import json
from typing import Any

import pytest

from openprm.commissions.rules import RulesError, parse_rules

pytestmark = pytest.mark.django_db


def doc(op: str, value: Any) -> dict[str, Any]:
    cond = {"field": "customer.new", "op": op, "value": value}
    rule = {"key": "r", "event": "purchase", "reward": {"type": "percent", "rate": 10}}
    return {"rules": [{**rule, "conditions": {"all": [cond]}}]}


@pytest.mark.parametrize(
    ("op", "value"),
    [("eq", "true"), ("eq", 1), ("ne", "false"), ("eq", None), ("in", [True, "false"]), ("not_in", [0])],
)
def test_a_flag_field_refuses_anything_but_true_or_false(op: str, value: Any) -> None:
    with pytest.raises(RulesError) as caught:
        parse_rules(doc(op, value))
    assert caught.value.errors == [
        {"path": "rules[0].conditions.all[0].value", "message": "must be true or false"}
    ]


@pytest.mark.parametrize(("op", "value"), [("eq", True), ("ne", False), ("in", [True, False])])
def test_a_flag_field_takes_true_and_false(op: str, value: Any) -> None:
    parse_rules(doc(op, value))


def test_other_fields_keep_their_values() -> None:
    cond = {"field": "metadata.new", "op": "eq", "value": "true"}
    rule = {"key": "r", "event": "purchase", "reward": {"type": "flat", "amount": 5}}
    parse_rules({"rules": [{**rule, "conditions": {"all": [cond]}}]})


def test_the_api_answers_422_naming_the_value(world: Any, api_for: Any) -> None:
    finance = api_for(world.finance)
    created = finance.post(
        "/api/v1/commissions/plans",
        data=json.dumps({"name": "Flags", "currency": "EUR"}),
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    bad = finance.post(
        f"/api/v1/commissions/plans/{created.json()['id']}/versions",
        data=json.dumps({"rules": doc("eq", "true"), "effective_from": "2026-01-01"}),
        content_type="application/json",
    )
    assert bad.status_code == 422, bad.content
    assert bad.json()["field"] == "rules.rules[0].conditions.all[0].value"
    assert "must be true or false" in json.dumps(bad.json())


def test_a_version_stored_before_the_check_still_accrues_and_its_legacy_flag_never_matches(
    world: Any, monkeypatch: Any
) -> None:
    # a version saved with "true" for a flag (the API took it then): accrual reads it as published — that
    # condition never matched, and still does not — instead of stopping on the new check
    from decimal import Decimal

    from openprm.commissions.models import PlanVersion
    from openprm.commissions.services import accrual, plans
    from openprm.commissions.tests.test_accrual import convert, publish, total
    from openprm.core.scoping import unscoped

    base = {"key": "base", "event": "purchase", "bonus": True, "reward": {"type": "percent", "rate": 10}}
    rules = {"rules": [doc("eq", True)["rules"][0], base]}
    legacy = json.loads(json.dumps(rules))
    legacy["rules"][0]["conditions"]["all"][0]["value"] = "true"
    real_parse = plans.parse_rules
    with monkeypatch.context() as patched:  # saved as the API checked it then
        patched.setattr(plans, "parse_rules", lambda data, **kw: real_parse(rules))
        publish(world, legacy)
    with unscoped():
        assert PlanVersion.objects.get(status=PlanVersion.Status.PUBLISHED).rules == legacy
    with pytest.raises(RulesError):
        parse_rules(legacy)  # new input: refused
    convert(world, "1000")
    accrual.accrue(workspace_id=world.workspace.pk)
    assert total(rule_key="base") == Decimal("100.00")
    assert total(rule_key="r") == Decimal("0.00")
