"""The pages showing deal figures say which deals in other currencies no exchange rate converts yet (a
EUR workspace, partner A's USD deal won on 5 November has no rate): the program dashboard and partner A's
dashboard with the staff rates page to import them from, partner A's portal performance page without it;
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

STAFF = "1 deal in USD not converted: no USD→EUR rate for 2026-11-05; import rates at /finance/fx-rates/"
PARTNER = "1 deal in USD not included yet (no exchange rate for 2026-11-05)."
PERIOD = {"period": "2026-11"}


def page(client: Any, url: str) -> str:
    answer = client.get(url, PERIOD)
    assert answer.status_code == 200
    return str(answer.content.decode())


def test_staff_dashboards_name_the_unconverted_deals(eur: Any, client_for: Any) -> None:
    rates(eur.workspace.pk)
    staff = client_for(eur.manager)
    assert STAFF in page(staff, reverse("dashboards:overview"))
    assert STAFF in page(staff, reverse("dashboards:partner", args=[eur.partner_a.public_id]))
    b = page(staff, reverse("dashboards:partner", args=[eur.partner_b.public_id]))
    assert 'id="unconverted"' not in b and "2026-11-05" not in b


def test_the_portal_performance_page_says_it_without_the_rates_page(eur: Any, client_for: Any) -> None:
    rates(eur.workspace.pk)
    a = page(client_for(eur.a_admin), reverse("portal:performance"))
    assert PARTNER in a and "/finance/fx-rates/" not in a
    b = page(client_for(eur.b_admin), reverse("portal:performance"))
    assert 'id="unconverted"' not in b and "2026-11-05" not in b


def test_nothing_is_said_once_every_day_has_a_rate(eur: Any, client_for: Any) -> None:
    rates(eur.workspace.pk)
    with unscoped():
        FxRate.objects.create(
            workspace_id=eur.workspace.pk,
            day=datetime.date(2026, 11, 5),
            base="EUR",
            quote="USD",
            rate=Decimal("1.25"),
            source="manual",
        )
    assert 'id="unconverted"' not in page(client_for(eur.manager), reverse("dashboards:overview"))
    assert 'id="unconverted"' not in page(client_for(eur.a_admin), reverse("portal:performance"))
