"""The "Engagement" panel of the staff partner page: figures labelled and formatted from the catalog, the
optional figures, the period choice, isolation (partner users, staff restricted to their partners) and a
query count that does not grow with the rows."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from openprm.activity.models import Event
from openprm.activity.rollups import rollups_rebuild
from openprm.core.permissions import Role
from openprm.core.scoping import unscoped
from openprm.metrics.catalog import metric
from openprm.metrics.formulas import Engagement, Period
from openprm.metrics.views import engagement_figures
from openprm.testing import make_user

D = datetime.date
ALWAYS = [
    "last_contact",
    "contact_frequency",
    "reply_partner_seconds",
    "reply_vendor_seconds",
    "logins",
    "training_completion_rate",
    "active_certifications",
    "tickets_opened",
    "meetings",
]


def quiet(**values: Any) -> Engagement:
    """A partner with nothing in a 90-day period, plus ``values``."""
    base: dict[str, Any] = {
        "period": Period(D(2026, 1, 1), D(2026, 3, 31)),
        "last_contact": None,
        "contacts": 0,
        "contact_frequency": Decimal("0.00"),
        "reply_partner_seconds": None,
        "reply_vendor_seconds": None,
        **dict.fromkeys(
            [
                "logins",
                "downloads",
                "trainings_started",
                "trainings_completed",
                "active_certifications",
                "tickets_opened",
                "tickets_resolved",
                "meetings",
                "deliverables_due",
                "deliverables_approved",
                "deliverables_on_time",
                "deliverables_late",
                "clicks",
                "conversions",
            ],
            0,
        ),
        **dict.fromkeys(
            [
                "training_completion_rate",
                "ticket_resolution_seconds",
                "campaign_completion_rate",
                "on_time_delivery_rate",
                "conversion_rate",
                "engagement_rate",
                "followers_start",
                "followers_end",
                "audience_growth",
            ],
            None,
        ),
        **dict.fromkeys(["reach", "impressions", "engagements"], Decimal(0)),
    }
    return Engagement(**{**base, **values})


def test_a_quiet_partner_shows_the_always_figures_labelled_by_the_catalog() -> None:
    figures = engagement_figures(quiet())
    assert [key for key, _, _ in figures] == list(ALWAYS)
    assert figures[0] == ("last_contact", "never", "either direction")
    assert figures[1] == ("contact_frequency", "0.00", "0 in the period")
    assert figures[2] == ("reply_partner_seconds", "—", "median")
    assert figures[5] == ("training_completion_rate", "—", "0 of 0 started")
    assert figures[7] == ("tickets_opened", "0 opened", "0 resolved, median —")


def test_values_are_formatted_by_unit_and_optional_figures_appear_when_they_apply() -> None:
    busy = quiet(
        last_contact=D(2026, 3, 20),
        contacts=12,
        contact_frequency=Decimal("4.00"),
        reply_partner_seconds=12_600.0,
        reply_vendor_seconds=1_800.0,
        trainings_started=5,
        trainings_completed=3,
        training_completion_rate=Decimal("0.6000"),
        tickets_opened=9,
        tickets_resolved=8,
        ticket_resolution_seconds=3.8 * 86_400,
        deliverables_due=4,
        deliverables_approved=2,
        campaign_completion_rate=Decimal("0.5000"),
        deliverables_on_time=1,
        on_time_delivery_rate=Decimal("1.0000"),
        reach=Decimal(692_875),
        impressions=Decimal(100_000),
        engagements=Decimal(5_000),
        engagement_rate=Decimal("0.0500"),
        followers_start=Decimal(1_000),
        followers_end=Decimal(8_062),
        audience_growth=Decimal(7_062),
        clicks=224,
        conversions=8,
        conversion_rate=Decimal("0.0357"),
    )
    figures = {metric(key).label: (value, hint) for key, value, hint in engagement_figures(busy)}
    keys = [*ALWAYS, "campaign_completion_rate", "engagement_rate", "conversion_rate"]
    assert list(figures) == [metric(key).label for key in keys]
    assert figures["Last contact"] == ("2026-03-20", "either direction")
    assert figures["Partner replies in"] == ("3.5 h", "median")
    assert figures["We reply in"] == ("30 min", "median")
    assert figures["Training completion"] == ("60%", "3 of 5 started")
    assert figures["Support tickets"] == ("9 opened", "8 resolved, median 3.8 days")
    assert figures["Campaign completion"] == ("50%", "on time 100%")
    assert figures["Engagement rate"] == ("5%", "reach 692,875, audience +7,062")
    assert figures["Conversion rate"] == ("4%", "8 of 224 clicks")


NOW = timezone.now()


def ingest(world: Any, partner: Any, n: int, type_key: str = "portal_login") -> None:
    with unscoped():
        Event.objects.bulk_create(
            Event(
                workspace_id=world.workspace.pk,
                partner=partner,
                event_id=f"{type_key}-{partner.pk}-{i}",
                type=type_key,
                occurred_at=NOW - datetime.timedelta(days=i),
                received_at=NOW,
                source="api",
            )
            for i in range(n)
        )
    rollups_rebuild(workspace_id=world.workspace.pk)


def panel(partner: Any, days: Any = None) -> str:
    url = reverse("metrics:engagement_panel", args=[partner.public_id])
    return url if days is None else f"{url}?days={days}"


def shown(html: str) -> dict[str, str]:
    return dict(re.findall(r"<div><dt><a [^>]*>([^<]*)</a></dt><dd>([^<]*)", html))


@pytest.mark.django_db
def test_the_panel_counts_in_the_chosen_period(world: Any, client_for: Any) -> None:
    ingest(world, world.partner_a, 60)  # a login a day, today and the 59 days before
    client = client_for(world.analyst)
    assert shown(client.get(panel(world.partner_a)).text)["Portal logins"] == "60 "
    assert shown(client.get(panel(world.partner_a, 30)).text)["Portal logins"] == "30 "
    for unknown in ("7", "abc", ""):
        html = client.get(panel(world.partner_a, unknown)).text
        assert 'aria-current="true" style="font-weight:700">90 d</a>' in html, unknown


@pytest.mark.django_db
def test_the_partner_page_loads_the_panel_from_the_metrics_app(world: Any, client_for: Any) -> None:
    page = client_for(world.manager).get(reverse("partners:detail", args=[world.partner_a.public_id])).text
    assert f'hx-get="{panel(world.partner_a)}"' in page
    assert panel(world.partner_a).startswith("/metrics/")


@pytest.mark.django_db
def test_partner_users_get_404_and_anonymous_is_sent_to_login(world: Any, client_for: Any) -> None:
    for user in (world.a_admin, world.a_rep, world.b_admin):
        for partner in (world.partner_a, world.partner_b):
            assert client_for(user).get(panel(partner)).status_code == 404
    assert Client().get(panel(world.partner_a)).status_code == 302


@pytest.mark.django_db
def test_staff_restricted_to_their_partners_see_only_theirs(world: Any, client_for: Any) -> None:
    owner = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_b.owner = owner
        world.partner_b.save(update_fields=["owner"])
    client = client_for(owner)
    assert client.get(panel(world.partner_b)).status_code == 200
    assert client.get(panel(world.partner_a)).status_code == 404


@pytest.mark.django_db
def test_the_panel_does_not_query_more_with_more_rows(world: Any, client_for: Any) -> None:
    client = client_for(world.manager)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(panel(world.partner_a)).status_code == 200
        return len(queries)

    ingest(world, world.partner_a, 3)
    few = count()
    ingest(world, world.partner_a, 80, "resource_download")
    assert count() == few
