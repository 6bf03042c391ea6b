"""The central scoping mechanism and the audit trail's immutability, on the real database."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from openprm.core.models import AuditEntry
from openprm.core.scoping import ScopeError, scope, unscoped
from openprm.deals.models import CustomerKey
from openprm.partners.models import Contact, Partner, Tag, Tier
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def test_unscoped_query_on_tenant_model_raises(world):
    with pytest.raises(ScopeError):
        list(Partner.objects.all())
    with pytest.raises(ScopeError):
        Contact.objects.count()


def test_partner_scope_sees_only_its_partner(world):
    actor = actor_for(world.b_admin)
    with scope(actor.access_scope()):
        assert list(Partner.objects.values_list("name", flat=True)) == ["Globex Referrals"]
        assert not Partner.objects.filter(pk=world.partner_a.pk).exists()
        assert Tier.objects.count() == 4  # workspace-wide reference data stays visible
        # related managers are scoped by the related model's own path
        assert [t.name for t in Tier.objects.first().program.tiers.all()] == [
            "Bronze",
            "Silver",
            "Gold",
            "Platinum",
        ]


def test_staff_only_models_are_hidden_from_partner_users(world):
    with unscoped():
        CustomerKey.objects.create(workspace=world.workspace, key="n:initech", customer_key="initech")
    with scope(actor_for(world.a_admin).access_scope()):
        assert CustomerKey.objects.count() == 0  # other partners' customers are not a partner's business
    with scope(actor_for(world.analyst).access_scope()):
        assert CustomerKey.objects.count() == 1


def test_staff_scope_sees_all_partners(world):
    with scope(actor_for(world.analyst).access_scope()):
        assert Partner.objects.count() == 2


def test_other_workspace_is_invisible(world):
    from openprm.core.actors import Actor
    from openprm.core.models import Workspace
    from openprm.partners.services import partner_create, workspace_bootstrap

    other = Workspace.objects.create(name="Other Co", slug="other")
    workspace_bootstrap(workspace=other)
    other_system = Actor.system(other.pk)
    with scope(other_system.access_scope()):
        partner_create(actor=other_system, data={"name": "Hidden", "type": "agency", "external_id": "A-1"})
        assert Partner.objects.count() == 1
    with scope(actor_for(world.admin).access_scope()):
        assert not Partner.objects.filter(name="Hidden").exists()
        assert Tag.objects.count() == 0 or all(
            t.workspace_id == world.workspace.pk for t in Tag.objects.all()
        )


def test_audit_entries_cannot_be_updated_in_the_database(world):
    with unscoped():
        entry = AuditEntry.objects.filter(partner_id=world.partner_a.pk).first()
    assert entry is not None
    with (
        pytest.raises(DatabaseError),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE core_auditentry SET object_repr = 'forged' WHERE id = %s", [entry.pk])
    with pytest.raises(Exception, match="immutable"):
        entry.save()


def test_api_errors_outside_ninja_are_json_too(world, api_for):
    client = api_for(world.manager)
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong_method = client.put("/api/v1/partners")
    assert wrong_method.status_code == 405 and wrong_method.json()["code"] == "method_not_allowed"


def test_api_docs_need_no_cdn(world, client_for):
    page = client_for(world.manager).get("/api/v1/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "/static/ninja/" in page.text
