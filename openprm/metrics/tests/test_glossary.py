"""The glossary page and the ``{% metric_label %}`` tag: every catalogued metric with its words, readable by
staff and partner users, searchable, anchored by key; labels on pages link to their entry."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.template import Context, Template

from openprm.metrics.catalog import METRICS, Family, UnknownMetricError
from openprm.metrics.glossary import entries, search

URL = "/metrics/glossary/"


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "analyst", "a_rep", "b_admin"])
def test_staff_and_partner_users_read_every_metric_with_its_words(
    world: Any, client_for: Any, who: str
) -> None:
    html = client_for(getattr(world, who)).get(URL).content.decode()
    anchors = set(re.findall(r'<li id="([a-z0-9_]+)"', html))
    assert anchors == set(METRICS)
    entry = METRICS["payment_timeliness"]
    assert entry.definition.replace("'", "&#x27;") in html and entry.formula in html
    assert "lower is better" in html and "lagging" in html and "leading" in html
    assert "no data: needs" in html  # the page says what a missing input reads


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_login(client: Any) -> None:
    response = client.get(URL)
    assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.django_db
def test_the_search_and_family_narrow_the_list(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)
    html = client.get(URL, {"q": "sell-through"}).content.decode()
    found = set(re.findall(r'<li id="([a-z0-9_]+)"', html))
    assert {"sell_through_rate", "inventory_turnover", "units_sold"} <= found and "win_rate" not in found
    html = client.get(URL, {"family": "saas"}).content.decode()
    found = set(re.findall(r'<li id="([a-z0-9_]+)"', html))
    assert {"feature_adoption", "cac_per_partner", "pltv", "tickets_opened"} <= found
    assert "nps" not in found
    assert client.get(URL, {"q": "\x00", "family": "nope"}).status_code == 200


def test_every_entry_has_the_fields_users_read() -> None:
    for e in entries():
        m = e.metric
        assert m.formula and e.unit and e.direction, m.key
        assert m.family in Family, m.key
        assert e.computed or m.shown_on, f"{m.key}: neither computed nor shown anywhere"
        assert e.needs or not e.computed, m.key


def test_the_catalog_covers_every_metric_of_the_product_brief() -> None:
    brief = {
        Family.FINANCIAL: [
            "sourced_revenue",
            "influenced_revenue",
            "sourced_share",
            "company_revenue_share",
            "revenue_per_partner",
            "average_won_deal_size",
            "sales_velocity",
            "win_rate",
            "time_to_close_days",
            "pipeline_value",
            "weighted_pipeline",
            "margin_contribution",
            "payment_timeliness",
            "invoice_accuracy",
            "cac_per_partner",
            "pltv",
            "upsell_rate",
            "cost_per_partner_dollar",
        ],
        Family.ENGAGEMENT: [
            "campaign_completion_rate",
            "deliverable_quality",
            "on_time_delivery_rate",
            "contact_frequency",
            "reply_partner_seconds",
            "reply_vendor_seconds",
            "meetings",
            "logins",
            "downloads",
            "training_completion_rate",
            "active_certifications",
            "tickets_opened",
            "ticket_resolution_seconds",
            "active_partner_share",
            "engagement_rate",
            "reach",
            "impressions",
            "audience_growth",
            "conversions",
        ],
        Family.HEALTH: [
            "nps",
            "partner_satisfaction",
            "churn_risk",
            "collaboration_frequency",
            "contract_compliance",
            "disputes_resolved",
            "retention",
            "tier_progression",
            "csat_vs_direct",
        ],
        Family.SAAS: ["cac_per_partner", "pltv", "feature_adoption", "tickets_opened"],
        Family.INFLUENCER: ["engagement_rate", "reach"],
        Family.RETAIL: [
            "sell_through_rate",
            "inventory_turnover",
            "pricing_compliance",
            "regional_performance",
        ],
    }
    for family, keys in brief.items():
        listed = {e.key for e in search(family=family)}
        assert set(keys) <= listed, (family, set(keys) - listed)
    assert "until a churn model is built" in METRICS["churn_risk"].definition  # the placeholder says so


@pytest.mark.django_db
def test_metric_label_links_the_label_to_its_entry_with_the_definition_as_title() -> None:
    html = Template(
        '{% load metrics %}{% metric_label "win_rate" %}|{% metric_label "nps" "Net score" %}'
    ).render(Context())
    label, other = html.split("|")
    assert label.startswith(
        '<a class="metric-label" href="/metrics/glossary/#win_rate" title="The number of won'
    )
    assert label.endswith(">Win rate</a>")
    assert 'href="/metrics/glossary/#nps"' in other and other.endswith(">Net score</a>")
    with pytest.raises(UnknownMetricError):
        Template('{% load metrics %}{% metric_label "win_rat" %}').render(Context())


@pytest.mark.django_db
def test_the_engagement_panel_labels_link_to_the_glossary(world: Any, client_for: Any) -> None:
    html = client_for(world.admin).get(f"/metrics/partners/{world.partner_a.public_id}/engagement/").content
    assert b'href="/metrics/glossary/#last_contact"' in html and b'href="/metrics/glossary/#meetings"' in html
