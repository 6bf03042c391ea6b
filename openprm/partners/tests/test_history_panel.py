"""The partner page's history panel shows lifecycle changes and audited changes alike: status changes that no
audit entry records (the demo's dated lifecycle history) are not "No changes recorded", and a service change
shows once."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from openprm.core.scoping import scope, unscoped
from openprm.partners import services
from openprm.partners.models import Partner, PartnerType, StatusChange

pytestmark = pytest.mark.django_db


def rows(html: str) -> list[str]:
    panel = html[html.index('id="history-entries"') :]
    return [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)).strip()
        for r in re.findall(r'<tr class="audit-entry">(.*?)</tr>', panel, re.S)
    ]


def test_lifecycle_changes_without_audit_entries_show_in_the_history(world: Any, client_for: Any) -> None:
    now = timezone.now()
    steps = [
        ("", "applicant", 400),
        ("applicant", "onboarding", 300),
        ("onboarding", "active", 200),
        ("active", "at_risk", 10),
    ]
    with unscoped():  # a lifecycle history with no audit entries (as the demo backdates it)
        partner = Partner.objects.create(
            workspace=world.workspace,
            name="Quiet History Ltd",
            type=PartnerType.objects.get(workspace=world.workspace, key="reseller"),
            status="at_risk",
        )
        StatusChange.objects.bulk_create(
            StatusChange(
                workspace=world.workspace,
                partner=partner,
                from_status=a,
                to_status=b,
                changed_at=now - datetime.timedelta(days=d),
                actor_label="demo",
            )
            for a, b, d in steps
        )
    html = (
        client_for(world.analyst).get(reverse("partners:detail", args=[partner.public_id])).content.decode()
    )
    assert "No changes recorded" not in html
    shown = rows(html)
    assert len(shown) == 4, shown
    assert "Lifecycle change" in shown[0] and "Active" in shown[0] and "At risk" in shown[0]
    assert "Lifecycle start" in shown[-1] and "Applicant" in shown[-1]


def test_a_status_change_made_through_the_service_shows_once(world: Any, client_for: Any) -> None:
    with scope(world.system.access_scope()):
        services.partner_update(actor=world.system, partner=world.partner_a, data={"status": "active"})
    html = (
        client_for(world.admin)
        .get(reverse("partners:detail", args=[world.partner_a.public_id]))
        .content.decode()
    )
    shown = rows(html)
    assert len(shown) == 2, shown  # created + updated (their lifecycle rows are the same changes)
    assert "Updated partner" in shown[0] and "status : Applicant → Active" in shown[0]
    assert "Created partner" in shown[1]
    assert not any("Lifecycle" in row for row in shown)
    assert not re.search(r"\d\d:\d\d:\d\d", shown[0]), shown[0]  # moments to the minute, no microseconds
