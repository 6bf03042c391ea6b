"""The pages showing deal figures say which deals in other currencies no exchange rate converts yet (a
EUR workspace, partner A's USD deal won on 5 November has no rate): the program dashboard and partner A's
dashboard and the deals pages' panels with the staff rates page to import them from, partner A's portal
performance page without it;
partner B's pages say nothing (its deals all convert) and never name partner A's."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from openprm.core.scoping import unscoped
from openprm.deals.tests.test_fx_figures import eur as eur
from openprm.deals.tests.test_fx_figures import rates
from openprm.finance.models import FxRate

pytestmark = pytest.mark.django_db

# the pages link the rates page
STAFF_PAGE = (
    "1 deal in USD not converted: no USD→EUR rate for 2026-11-05; "
    '<a href="/finance/fx-rates/">import rates</a>'
)
PARTNER = "1 deal in USD not included yet (no exchange rate for 2026-11-05)."
PERIOD = {"period": "2026-11"}


def rate(workspace_id: int, day: datetime.date) -> None:
    with unscoped():
        FxRate.objects.create(
            workspace_id=workspace_id, day=day, base="EUR", quote="USD", rate=Decimal("1.25"), source="manual"
        )


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def page(client: Any, url: str) -> str:
    answer = client.get(url, PERIOD)
    assert answer.status_code == 200
    return str(answer.content.decode())


def test_staff_dashboards_name_the_unconverted_deals(eur: Any, client_for: Any) -> None:
    rates(eur.workspace.pk)
    staff = client_for(eur.manager)
    assert STAFF_PAGE in page(staff, reverse("dashboards:overview"))
    assert STAFF_PAGE in page(staff, reverse("dashboards:partner", args=[eur.partner_a.public_id]))
    b = page(staff, reverse("dashboards:partner", args=[eur.partner_b.public_id]))
    assert 'id="unconverted"' not in b and "2026-11-05" not in b


def test_the_deals_pages_name_the_unconverted_deals(eur: Any, client_for: Any) -> None:
    """The deals page's pipeline panel and the partner page's deals panel (all-time figures) name the
    currency and day, with the rates page; partner B's panel says nothing of partner A's. (Their open
    pipeline is today's: without a rate of the last 7 days it is named too, by today's date.)"""
    rates(eur.workspace.pk)
    staff = client_for(eur.manager)
    summary = staff.get(reverse("deals:list"), {"panel": "summary"}).content.decode()
    # the 5 November registration, and the open deal today's pipeline leaves out
    named = (
        f"1 deal and 1 open deal in USD not converted: no USD→EUR rate for 2026-11-05, {today().isoformat()};"
    )
    assert named in summary
    rate(eur.workspace.pk, today())
    staff = client_for(eur.manager)
    named = "1 deal in USD not converted: no USD→EUR rate for 2026-11-05;"
    summary = staff.get(reverse("deals:list"), {"panel": "summary"}).content.decode()
    assert named in summary and reverse("finance:fx_rates") in summary
    a = staff.get(reverse("deals:partner_panel", args=[eur.partner_a.public_id])).content.decode()
    assert named in a
    b = staff.get(reverse("deals:partner_panel", args=[eur.partner_b.public_id])).content.decode()
    assert "metric-unconverted" not in b and "2026-11-05" not in b


def test_the_portal_performance_page_says_it_without_the_rates_page(eur: Any, client_for: Any) -> None:
    rates(eur.workspace.pk)
    a = page(client_for(eur.a_admin), reverse("portal:performance"))
    assert PARTNER in a and "/finance/fx-rates/" not in a
    b = page(client_for(eur.b_admin), reverse("portal:performance"))
    assert 'id="unconverted"' not in b and "2026-11-05" not in b


def test_nothing_is_said_once_every_day_has_a_rate(eur: Any, client_for: Any) -> None:
    rates(eur.workspace.pk)
    rate(eur.workspace.pk, datetime.date(2026, 11, 5))
    rate(eur.workspace.pk, today())
    assert 'id="unconverted"' not in page(client_for(eur.manager), reverse("dashboards:overview"))
    assert 'id="unconverted"' not in page(client_for(eur.a_admin), reverse("portal:performance"))
    summary = client_for(eur.manager).get(reverse("deals:list"), {"panel": "summary"}).content.decode()
    assert "metric-unconverted" not in summary
