"""Removing a partner never cascades its history away: DELETE archives a partner with history (hidden,
restorable, logins suspended, audited), deletes one without any; a purge is a separate, explicit command."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from openprm.accounts.models import Membership
from openprm.activity.models import Event
from openprm.activity.services.events import events_ingest
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.deals import services as deal_services
from openprm.deals.models import Deal
from openprm.partners.models import Partner
from openprm.testing import actor_for, make_partner

pytestmark = pytest.mark.django_db
API = "/api/v1"


def with_history(world: Any, capture: Any) -> Deal:
    """Partner A gets a deal (registered by its admin) and an event."""
    actor = actor_for(world.a_admin)
    with scope(actor.access_scope()):
        deal, _ = deal_services.deal_register(
            actor=actor,
            data={"customer_name": "Initech", "customer_domain": "initech.example", "amount": "12000"},
        )
    now = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=1)
    item = {
        "event_id": "e-1",
        "partner_external_id": "A-1",
        "type": "email_sent",
        "occurred_at": now.isoformat(),
    }
    with capture(execute=True), scope(world.system.access_scope()):
        assert events_ingest(actor=world.system, items=[item]).stored == 1
    return deal


def fresh(partner: Partner) -> Partner:
    with unscoped():
        return Partner.objects.get(pk=partner.pk)


def audit(partner: Partner) -> list[AuditEntry]:
    with unscoped():
        return list(AuditEntry.objects.filter(partner_id=partner.pk).order_by("id"))


def test_delete_archives_a_partner_with_history_and_keeps_everything(
    world: Any, api_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    deal = with_history(world, django_capture_on_commit_callbacks)
    partner = world.partner_a
    response = api_for(world.admin).delete(f"{API}/partners/{partner.public_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "archived" and body["archived_at"]
    with unscoped():
        assert Deal.objects.filter(pk=deal.pk).exists()
        assert Event.objects.filter(partner_id=partner.pk).count() == 1
        memberships = Membership.objects.filter(partner=partner)
        assert memberships.count() == 2 and not memberships.filter(is_active=True).exists()
    assert fresh(partner).archived_at is not None
    entry = audit(partner)[-1]
    assert entry.action == "update" and entry.changes["archived_at"]["before"] is None
    assert entry.changes["portal_logins_suspended"]["after"] == ["admin@acme.test", "rep@acme.test"]


def test_archived_partners_are_hidden_from_lists_search_and_exports_unless_asked(
    world: Any, api_for: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with_history(world, django_capture_on_commit_callbacks)
    admin = api_for(world.admin)
    assert admin.delete(f"{API}/partners/{world.partner_a.public_id}").json()["state"] == "archived"
    names = [p["name"] for p in admin.get(f"{API}/partners").json()["items"]]
    assert names == ["Globex Referrals"]
    assert admin.get(f"{API}/partners?q=Acme").json()["count"] == 0
    only = admin.get(f"{API}/partners?archived=only").json()["items"]
    assert [p["name"] for p in only] == ["Acme Resellers"] and only[0]["archived_at"]
    assert admin.get(f"{API}/partners?archived=all").json()["count"] == 2
    assert admin.get(f"{API}/partners?archived=yes").status_code == 422
    page = client_for(world.manager)
    html = page.get(reverse("partners:list")).content.decode()
    assert "Globex Referrals" in html and "Acme Resellers" not in html
    html = page.get(reverse("partners:list") + "?archived=only").content.decode()
    assert "Acme Resellers" in html and "archived</span>" in html
    export = page.get(reverse("integrations:partners_export"))
    content = b"".join(export.streaming_content).decode() if export.streaming else export.content.decode()
    assert "Globex Referrals" in content and "Acme Resellers" not in content


def test_archived_partners_users_cannot_sign_in_until_restored(
    world: Any, api_for: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with_history(world, django_capture_on_commit_callbacks)
    rep_api = api_for(world.a_rep)  # a token made while the partner was live
    assert rep_api.get(f"{API}/me").status_code == 200
    admin = api_for(world.admin)
    admin.delete(f"{API}/partners/{world.partner_a.public_id}")
    assert rep_api.get(f"{API}/me").status_code == 401
    assert client_for(world.a_rep).get("/portal/").status_code == 404
    assert client_for(world.a_rep).get("/").status_code == 403  # the "no access" page
    restored = admin.post(f"{API}/partners/{world.partner_a.public_id}/restore")
    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    assert rep_api.get(f"{API}/me").status_code == 200
    assert client_for(world.a_rep).get("/portal/").status_code == 200
    entry = audit(world.partner_a)[-1]
    assert entry.changes["archived_at"]["after"] is None
    assert entry.changes["portal_logins_restored"]["after"] == ["admin@acme.test", "rep@acme.test"]


def test_restore_keeps_logins_suspended_for_other_reasons(world: Any, api_for: Any) -> None:
    with unscoped():
        Membership.objects.filter(user=world.a_rep).update(is_active=False)
    admin = api_for(world.admin)
    with scope(world.system.access_scope()):
        from openprm.partners import services

        services.partner_archive(actor=world.system, partner=world.partner_a)
    admin.post(f"{API}/partners/{world.partner_a.public_id}/restore")
    with unscoped():
        assert Membership.objects.get(user=world.a_admin).is_active
        assert not Membership.objects.get(user=world.a_rep).is_active


def test_a_partner_without_history_is_deleted_outright_and_audited(world: Any, api_for: Any) -> None:
    partner = make_partner(world.system, "Fresh Start Ltd")
    response = api_for(world.admin).delete(f"{API}/partners/{partner.public_id}")
    assert response.status_code == 200
    assert response.json() == {"public_id": str(partner.public_id), "state": "deleted", "archived_at": None}
    with unscoped():
        assert not Partner.objects.filter(pk=partner.pk).exists()
    assert [e.action for e in audit(partner)] == ["create", "delete"]


def test_a_change_is_history_too(world: Any, api_for: Any) -> None:
    admin = api_for(world.admin)
    partner = make_partner(world.system, "Changed Once Ltd")
    admin.patch(f"{API}/partners/{partner.public_id}", {"status": "active"}, content_type="application/json")
    assert admin.delete(f"{API}/partners/{partner.public_id}").json()["state"] == "archived"


def test_only_admins_archive_and_restore_and_partners_get_404(world: Any, api_for: Any) -> None:
    a, b = world.partner_a, world.partner_b
    for user in (world.manager, world.finance, world.analyst):
        client = api_for(user)
        assert client.delete(f"{API}/partners/{a.public_id}").status_code == 403
        assert client.post(f"{API}/partners/{a.public_id}/restore").status_code == 403
    b_admin = api_for(world.b_admin)
    assert b_admin.delete(f"{API}/partners/{a.public_id}").status_code == 404
    assert b_admin.post(f"{API}/partners/{a.public_id}/restore").status_code == 404
    assert b_admin.post(f"{API}/partners/{b.public_id}/restore").status_code == 403
    assert fresh(a).archived_at is None and fresh(b).archived_at is None


def test_the_page_archives_shows_a_banner_and_restores(
    world: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with_history(world, django_capture_on_commit_callbacks)
    page = client_for(world.admin)
    detail = reverse("partners:detail", args=[world.partner_a.public_id])
    assert "Archive</button>" in page.get(detail).content.decode()
    response = page.post(reverse("partners:delete", args=[world.partner_a.public_id]), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == detail
    assert 'id="archived-banner"' in html and "Restore</button>" in html
    assert "Archive</button>" not in html
    response = page.post(reverse("partners:restore", args=[world.partner_a.public_id]), follow=True)
    assert 'id="archived-banner"' not in response.content.decode()
    assert fresh(world.partner_a).archived_at is None
    # the read-only roles see no buttons and may not post
    analyst = client_for(world.analyst)
    assert "Archive</button>" not in analyst.get(detail).content.decode()
    assert analyst.post(reverse("partners:restore", args=[world.partner_a.public_id])).status_code == 403
    assert client_for(world.a_admin).get(detail).status_code == 404


def test_purge_is_explicit_complete_and_leaves_its_audit_entry(
    world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    deal = with_history(world, django_capture_on_commit_callbacks)
    partner = world.partner_a
    args = ["partners", "purge", "--partner", str(partner.public_id), "--email", "admin@vendor.test"]
    with pytest.raises(CommandError, match="exact name"):
        call_command(*args, "--confirm", "Acme")
    with pytest.raises(CommandError, match="staff user"):
        call_command(*args[:-1], "admin@acme.test", "--confirm", "Acme Resellers")
    manager_args = [*args[:-1], "manager@vendor.test", "--confirm", "Acme Resellers"]
    with pytest.raises(CommandError, match="may not"):
        call_command(*manager_args)
    assert fresh(partner).pk == partner.pk
    call_command(*args, "--confirm", "Acme Resellers")
    with unscoped():
        assert not Partner.objects.filter(pk=partner.pk).exists()
        assert not Deal.objects.filter(pk=deal.pk).exists()
        assert not Event.objects.filter(partner_id=partner.pk).exists()
        assert not Membership.objects.filter(user__email__endswith="@acme.test").exists()
        assert Partner.objects.filter(pk=world.partner_b.pk).exists()
    entry = audit(partner)[-1]
    assert entry.action == "delete" and entry.actor_label == "admin@vendor.test"
    assert "(purged)" in entry.object_repr and entry.changes["purged"]["after"]["deals.Deal"] == 1


def test_the_program_page_counts_live_partners_only(world: Any, api_for: Any, client_for: Any) -> None:
    from openprm.partners.models import Program

    with unscoped():
        program = Program.objects.get(workspace=world.workspace, is_default=True)
    url = reverse("partners:program_detail", args=[program.public_id])
    assert '<th id="program-enrolled">2</th>' in client_for(world.analyst).get(url).content.decode()
    api_for(world.admin).patch(
        f"{API}/partners/{world.partner_a.public_id}", {"status": "active"}, content_type="application/json"
    )
    assert (
        api_for(world.admin).delete(f"{API}/partners/{world.partner_a.public_id}").json()["state"]
        == "archived"
    )
    assert '<th id="program-enrolled">1</th>' in client_for(world.analyst).get(url).content.decode()


def test_an_archived_partner_takes_no_new_business_and_its_users_are_told_why(
    world: Any, api_for: Any, client_for: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from openprm.activity.services import referrals
    from openprm.core.models import Workspace

    with unscoped():
        Workspace.objects.filter(pk=world.workspace.pk).update(tracking_allowed_hosts=["vendor.example"])
    deal = with_history(world, django_capture_on_commit_callbacks)
    admin = api_for(world.admin)
    assert admin.delete(f"{API}/partners/{world.partner_a.public_id}").json()["state"] == "archived"
    staff = actor_for(world.admin)
    with scope(staff.access_scope()):
        for create in (
            lambda: deal_services.deal_register(
                actor=staff, data={"partner_id": world.partner_a.pk, "customer_name": "Hooli", "amount": "5"}
            ),
            lambda: referrals.link_create(
                actor=staff, data={"partner_id": world.partner_a.pk, "destination": "https://vendor.example/"}
            ),
            lambda: referrals.coupon_create(
                actor=staff, data={"partner_id": world.partner_a.pk, "code": "ARCH"}
            ),
        ):
            with pytest.raises(Exception, match="restore it before adding to it") as caught:
                create()
            assert caught.type.__name__ == "ValidationError"
        other, _ = deal_services.deal_register(
            actor=staff, data={"partner_id": world.partner_b.pk, "customer_name": "Hooli", "amount": "5"}
        )
        with pytest.raises(Exception, match="restore it before adding to it"):
            deal_services.deal_add_co_seller(
                actor=staff, deal=other, partner_id=world.partner_a.pk, role="influencer"
            )
    # a deals file naming it is refused by line; the link picker no longer offers it
    path = tmp_path / "deals.csv"
    path.write_text("external_id,partner_external_id,customer_name,amount\nX-1,A-1,Umbrella,100\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "deals", str(path), "--format", "canonical", stderr=err)
    assert "Acme Resellers is archived" in err.getvalue()
    with unscoped():
        assert not Deal.objects.filter(external_id="X-1").exists()
    assert (
        "Acme Resellers" not in client_for(world.manager).get("/activity/referrals/").text.split("<table")[0]
    )
    with pytest.raises(CommandError, match="archived"):
        call_command("createuser", "--email", "new@acme.test", "--role", "partner_rep", "--partner", "A-1")
    # its users learn why they cannot get in
    page = client_for(world.a_rep).get("/")
    assert (
        page.status_code == 403 and "Partner account archived" in page.text and "Acme Resellers" in page.text
    )
    assert deal.partner_id == world.partner_a.pk
