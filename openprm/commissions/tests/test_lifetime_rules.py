"""A condition on the partner's lifetime amount through the plans API (rules as JSON) and the structured
rules editor: accepted, read back in words, a bad value named; the editor lists the field as a number."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from openprm.commissions.models import PlanVersion
from openprm.commissions.services import plans as plan_services
from openprm.commissions.tests.editor_html import form_values
from openprm.commissions.tests.test_lifetime_accrual import LOYALTY
from openprm.core.scoping import scope

pytestmark = pytest.mark.django_db


def post(client: Any, url: str, body: Any) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_api_takes_a_lifetime_condition_and_reads_it_back_in_words(world: Any, api_for: Any) -> None:
    finance = api_for(world.finance)
    plan = post(finance, "/api/v1/commissions/plans", {"name": "Loyalty", "currency": "EUR"}).json()
    url = f"/api/v1/commissions/plans/{plan['id']}/versions"
    created = post(finance, url, {"rules": LOYALTY, "effective_from": "2026-01-01"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["rules"]["rules"][1]["conditions"]["all"][0]["field"] == "partner.lifetime_amount"
    assert body["described"][1]["words"] == (
        "When a referred customer purchases, if the partner's lifetime sales total before that day (net of"
        " refunds) is more than 100,000 EUR, pay 2% of the amount; a bonus: paid on top of the selected rule."
    )
    bad = json.loads(json.dumps(LOYALTY))
    bad["rules"][1]["conditions"]["all"][0]["op"] = "in"  # a list is needed
    refused = post(finance, url, {"rules": bad, "effective_from": "2026-02-01"})
    assert refused.status_code == 422
    assert refused.json()["field"].startswith("rules.rules[1].conditions")


def test_the_rules_editor_offers_the_field_as_a_number_and_saves_it(world: Any, client_for: Any) -> None:
    with scope(world.system.access_scope()):
        plan = plan_services.plan_create(actor=world.system, name="Editor", currency="USD")
        version = plan_services.version_create_draft(
            actor=world.system, plan=plan, rules=LOYALTY, effective_from=datetime.date(2026, 1, 1)
        )
    client = client_for(world.finance)
    url = f"/commissions/versions/{version.public_id}/"
    page = client.get(url).content.decode()
    assert 'value="partner.lifetime_amount"' in page
    values = form_values(page, "rule-editor")
    fields = {k: v for k, v in values.items() if k.startswith("rule-1-c-") and k.endswith("-field")}
    [name] = [k for k, v in fields.items() if v == ["partner.lifetime_amount"]]
    value_key = name.removesuffix("-field") + "-value"
    assert values[value_key] == ["100000"]
    values[value_key] = ["120,000"]  # typed as people type figures
    answer = client.post(url, values)
    assert answer.status_code == 302, form_values(answer.content.decode(), "rule-editor")
    with scope(world.system.access_scope()):
        stored = PlanVersion.objects.get(pk=version.pk).rules
    assert stored["rules"][1]["conditions"]["all"][0] == {
        "field": "partner.lifetime_amount",
        "op": "gt",
        "value": 120000,
    }
    values[value_key] = ["a lot"]
    page = client.post(url, values).content.decode()
    assert "Rule 2 (loyalty), condition 1, value: &#x27;a lot&#x27; is not a number" in page
