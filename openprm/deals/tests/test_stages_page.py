"""Admins configure each program's pipeline stages; the weighted pipeline follows the new probability."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.deals.models import PipelineStage

pytestmark = pytest.mark.django_db


def stage(key):
    with unscoped():
        return PipelineStage.objects.get(key=key, program__is_default=True)


def test_admin_renames_stage_and_sets_probability_and_threshold(world, client_for):
    admin = client_for(world.admin)
    page = admin.get(reverse("deals:stages"))
    assert page.status_code == 200 and "Proposal sent" in page.text
    qualified = stage("qualified")
    response = admin.post(
        reverse("deals:stages"),
        {"stage": qualified.public_id, "name": "Discovery done", "win_probability": "30", "stall_days": "10"},
    )
    assert response.status_code == 302
    qualified = stage("qualified")
    assert (qualified.name, qualified.win_probability, qualified.stall_days) == (
        "Discovery done",
        Decimal("0.3"),
        10,
    )
    with unscoped():
        assert AuditEntry.objects.filter(object_id=qualified.public_id, action="update").exists()


def test_bad_values_are_refused_with_messages(world, client_for):
    admin = client_for(world.admin)
    qualified = stage("qualified")
    response = admin.post(
        reverse("deals:stages"),
        {"stage": qualified.public_id, "name": "", "win_probability": "150", "stall_days": "-3"},
    )
    assert response.status_code == 200
    assert "This field is required." in response.text and "between 0 and 1" in response.text
    assert stage("qualified").name == "Qualified"


def test_closing_stage_probability_cannot_change(world, client_for):
    won = stage("closed_won")
    client_for(world.admin).post(
        reverse("deals:stages"),
        {"stage": won.public_id, "name": "Won", "win_probability": "0.2", "stall_days": "5"},
    )
    won = stage("closed_won")
    assert won.name == "Won" and won.win_probability == 1 and won.stall_days is None


def test_only_admins_configure_stages(world, client_for):
    assert client_for(world.manager).get(reverse("deals:stages")).status_code == 403
    assert client_for(world.a_admin).get(reverse("deals:stages")).status_code == 404


def test_stalled_thresholds_have_documented_defaults_shown_beside_each_stage(world, client_for):
    from openprm.deals.models import DEFAULT_STALL_DAYS

    assert DEFAULT_STALL_DAYS == {"registered": 14, "qualified": 30, "proposal_sent": 30, "negotiating": 45}
    page = client_for(world.admin).get(reverse("deals:stages")).text
    assert "Defaults: registered 14 days, qualified 30, proposal sent 30, negotiating 45." in page
    for days in (14, 30, 45):
        assert f'<span class="muted">default {days}</span>' in page


def test_stages_still_at_the_first_defaults_move_to_the_new_ones(world):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("openprm.deals.migrations.0007_stalled_thresholds_defaults")
    with unscoped():
        PipelineStage.objects.filter(key="qualified").update(stall_days=21)
        PipelineStage.objects.filter(key="proposal_sent").update(stall_days=25)  # an admin's own choice
        PipelineStage.objects.filter(key="negotiating").update(stall_days=30)
    with unscoped():  # as migrations run
        migration.forwards(apps, None)
    assert (stage("qualified").stall_days, stage("proposal_sent").stall_days) == (30, 25)
    assert stage("negotiating").stall_days == 45
    assert stage("registered").stall_days == 14
