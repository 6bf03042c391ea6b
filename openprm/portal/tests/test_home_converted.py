"""The portal home cards read the metric engine's figures: a EUR workspace's USD deals converted at each
day's rate (not totalled raw per currency), and the deals no rate converts yet said beside them, without
the staff rates page. Partner B never sees partner A's figures or unconverted deals."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openprm.core.scoping import scope, unscoped
from openprm.deals.tests.test_fx_figures import eur as eur
from openprm.deals.tests.test_fx_figures import rates
from openprm.finance.models import FxRate
from openprm.portal.selectors import portal_summary
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC)  # the deals are of November 2026
NOTE = "1 deal in USD not included yet (no exchange rate for 2026-11-05)."


def rate(workspace_id: int, day: datetime.date, value: str) -> None:
    with unscoped():
        FxRate.objects.create(
            workspace_id=workspace_id, day=day, base="EUR", quote="USD", rate=Decimal(value), source="manual"
        )


def summary(world: Any, user: Any, partner: Any) -> Any:
    actor = actor_for(user)
    with scope(actor.access_scope()):
        return portal_summary(actor=actor, partner=partner, now=NOW)


def test_the_cards_convert_into_the_reporting_currency_to_the_cent(eur: Any) -> None:
    rates(eur.workspace.pk)
    a = summary(eur, eur.a_admin, eur.partner_a)
    assert a.main.currency == "EUR"
    # 1,000.00 EUR + 1,000.00 USD × 0.80 + 333.33 USD × 0.625: the 5th's 500.00 USD has no rate
    assert (a.main.won_this_year, a.main.won_last_12_months) == (Decimal("2008.33"), Decimal("2008.33"))
    assert (a.main.open_count, a.main.open_amount) == (1, Decimal("234.38"))  # 300.00 USD × 0.78125
    assert a.unconverted == NOTE
    b = summary(eur, eur.b_admin, eur.partner_b)
    assert (b.main.won_this_year, b.unconverted) == (Decimal("80.00"), "")  # nothing of partner A's
    rate(eur.workspace.pk, datetime.date(2026, 11, 5), "1.25")
    a = summary(eur, eur.a_admin, eur.partner_a)
    assert (a.main.won_this_year, a.unconverted) == (Decimal("2408.33"), "")  # + 500.00 × 0.80


def test_the_home_page_says_what_is_not_included(eur: Any, client_for: Any, monkeypatch: Any) -> None:
    rates(eur.workspace.pk)
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    html = client_for(eur.a_admin).get(reverse("portal:home")).content.decode()
    cards = html[html.index('id="figures"') : html.index('id="performance-card"')]
    assert "EUR 2,008" in cards and "EUR 234 in play" in cards
    assert NOTE in cards and "/finance/fx-rates/" not in html and "USD 1,833" not in cards
    other = client_for(eur.b_admin).get(reverse("portal:home")).content.decode()
    cards = other[other.index('id="figures"') : other.index('id="performance-card"')]
    assert "EUR 80" in cards and "not included" not in cards and "2026-11-05" not in cards
