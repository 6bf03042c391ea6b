"""Admins extend the workspace: partner types and typed custom fields, which then appear on partner forms."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openprm.core.models import AuditEntry
from openprm.core.scoping import unscoped
from openprm.partners.models import CustomFieldDefinition, Partner, PartnerType

pytestmark = pytest.mark.django_db


def test_admin_adds_type_and_custom_field_used_by_the_partner_form(world, client_for):
    admin = client_for(world.admin)
    admin.post(
        reverse("partners:settings"),
        {"add_type": "1", "type-key": "marketplace", "type-label": "Marketplace"},
    )
    admin.post(
        reverse("partners:settings"),
        {
            "add_field": "1",
            "field-key": "segment",
            "field-label": "Segment",
            "field-field_type": "choice",
            "field-choices": "SMB, Mid-market, Enterprise",
        },
    )
    with unscoped():
        assert PartnerType.objects.filter(key="marketplace", workspace=world.workspace).exists()
        definition = CustomFieldDefinition.objects.get(key="segment")
        assert definition.choices == ["SMB", "Mid-market", "Enterprise"]
        assert AuditEntry.objects.filter(object_id=definition.public_id, action="create").exists()
    form = admin.get(reverse("partners:create"))
    assert "Segment" in form.text and "Marketplace" in form.text
    bad = admin.post(
        reverse("partners:create"),
        {
            "name": "Shop Co",
            "type": "marketplace",
            "status": "active",
            "field-x": "1",
            "cf_segment": "Galactic",
        },
    )
    assert bad.status_code == 200 and "Select a valid choice" in bad.text
    admin.post(
        reverse("partners:create"),
        {"name": "Shop Co", "type": "marketplace", "status": "active", "cf_segment": "Enterprise"},
    )
    with unscoped():
        assert Partner.objects.get(name="Shop Co").custom_fields == {"segment": "Enterprise"}


def test_duplicate_and_malformed_definitions_are_refused_with_field_messages(world, client_for):
    admin = client_for(world.admin)
    response = admin.post(
        reverse("partners:settings"), {"add_type": "1", "type-key": "reseller", "type-label": "Again"}
    )
    assert "already exists" in response.text
    response = admin.post(
        reverse("partners:settings"),
        {
            "add_field": "1",
            "field-key": "tier_note",
            "field-label": "Tier note",
            "field-field_type": "choice",
        },
    )
    assert "needs at least one choice" in response.text


def test_only_admins_reach_workspace_settings(world, client_for):
    assert client_for(world.manager).get(reverse("partners:settings")).status_code == 403
    assert client_for(world.analyst).get(reverse("partners:settings")).status_code == 403
    assert client_for(world.a_admin).get(reverse("partners:settings")).status_code == 404
