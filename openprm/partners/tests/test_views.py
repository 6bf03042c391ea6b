"""Staff pages: what each role sees and may do, validation messages, audit shown, and isolation."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from openprm.core.models import AuditEntry
from openprm.core.permissions import Role
from openprm.core.scoping import scope, unscoped
from openprm.partners import services
from openprm.partners.models import Agreement, Contact, Partner
from openprm.testing import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def children(world):
    """A contact and an agreement on partner A (and one contact on B)."""
    system = world.system
    with scope(system.access_scope()):
        contact = services.contact_create(
            actor=system, partner=world.partner_a, data={"name": "Ann Acme", "email": "ann@acme.example"}
        )
        services.contact_create(actor=system, partner=world.partner_b, data={"name": "Bob Globex"})
        agreement = services.agreement_create(
            actor=system,
            partner=world.partner_a,
            data={
                "title": "Acme reseller agreement",
                "status": "active",
                "start_date": datetime.date(2025, 1, 1),
                "end_date": timezone.localdate() + datetime.timedelta(days=20),
            },
        )
    return {"contact": contact, "agreement": agreement}


def partner_a_urls(world, children):
    a = world.partner_a.public_id
    return [
        reverse("partners:detail", args=[a]),
        reverse("partners:edit", args=[a]),
        reverse("partners:history", args=[a]),
        reverse("partners:contact_create", args=[a]),
        reverse("partners:agreement_create", args=[a]),
        reverse("partners:contact_edit", args=[children["contact"].public_id]),
        reverse("partners:agreement_edit", args=[children["agreement"].public_id]),
        reverse("partners:agreement_file", args=[children["agreement"].public_id]),
    ]


def partner_a_post_urls(world, children):
    a = world.partner_a.public_id
    return [
        reverse("partners:delete", args=[a]),
        reverse("partners:tier", args=[a]),
        reverse("partners:contact_delete", args=[children["contact"].public_id]),
        reverse("partners:contact_invite", args=[children["contact"].public_id]),
        reverse("partners:agreement_delete", args=[children["agreement"].public_id]),
    ]


def test_partner_users_get_404_on_every_staff_page(world, children, client_for):
    for user in (world.b_admin, world.a_admin, world.a_rep):
        client = client_for(user)
        assert client.get(reverse("partners:list")).status_code == 404
        for url in partner_a_urls(world, children):
            assert client.get(url).status_code == 404, url
        for url in partner_a_post_urls(world, children):
            assert client.post(url, {"program": "Partner Program", "tier": "Gold"}).status_code == 404, url
    with unscoped():
        assert Partner.objects.filter(pk=world.partner_a.pk).exists()
        assert Contact.objects.filter(pk=children["contact"].pk).exists()


def test_staff_restricted_to_own_partners_gets_404_for_others(world, children, client_for):
    owner_only = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with scope(world.system.access_scope()):
        services.partner_update(
            actor=world.system, partner=world.partner_b, data={"owner_email": "own@vendor.test"}
        )
    client = client_for(owner_only)
    listing = client.get(reverse("partners:list"))
    assert listing.status_code == 200
    assert "Globex Referrals" in listing.text and "Acme Resellers" not in listing.text
    for url in partner_a_urls(world, children):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("partners:detail", args=[world.partner_b.public_id])).status_code == 200


def test_anonymous_is_sent_to_login(world, children, client):
    response = client.get(reverse("partners:detail", args=[world.partner_a.public_id]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_list_filters_sort_and_htmx_partial(world, client_for):
    client = client_for(world.manager)
    page = client.get(reverse("partners:list"))
    assert page.status_code == 200
    assert "Acme Resellers" in page.text and "Globex Referrals" in page.text
    only_referral = client.get(reverse("partners:list"), {"type": "referral"})
    assert "Globex Referrals" in only_referral.text and "Acme Resellers" not in only_referral.text
    by_country = client.get(reverse("partners:list"), {"country": "de"})
    assert "Acme Resellers" in by_country.text and "Globex Referrals" not in by_country.text
    partial = client.get(reverse("partners:list"), {"q": "globex"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and "Globex Referrals" in partial.text
    assert "Acme Resellers" not in partial.text
    desc = client.get(reverse("partners:list"), {"sort": "-name"}).text
    assert desc.index("Globex Referrals") < desc.index("Acme Resellers")


def test_contract_filter_finds_expiring_agreements(world, children, client_for):
    client = client_for(world.analyst)
    expiring = client.get(reverse("partners:list"), {"contract": "expiring"}).text
    assert "Acme Resellers" in expiring and "Globex Referrals" not in expiring
    none = client.get(reverse("partners:list"), {"contract": "none"}).text
    assert "Globex Referrals" in none and "Acme Resellers" not in none


def test_list_query_count_does_not_grow_with_partners(world, client_for, django_assert_max_num_queries):
    client = client_for(world.manager)
    for i in range(30):
        from openprm.testing import make_partner

        make_partner(
            world.system, f"Bulk partner {i:02d}", tags=["bulk", f"t{i}"], tiers={"Partner Program": "Gold"}
        )
    with django_assert_max_num_queries(20):
        response = client.get(reverse("partners:list"))
    assert response.status_code == 200 and "Bulk partner 29" in response.text


def test_create_shows_field_errors_and_creates_with_audit(world, client_for):
    client = client_for(world.manager)
    bad = client.post(
        reverse("partners:create"),
        {
            "name": "",
            "type": "reseller",
            "status": "active",
            "domains": "not a domain",
            "website": "ht!tp://x",
        },
    )
    assert bad.status_code == 200
    assert "This field is required." in bad.text
    good = client.post(
        reverse("partners:create"),
        {
            "name": "Initech",
            "type": "agency",
            "status": "onboarding",
            "domains": "https://www.initech.example/",
            "country": "FR",
            "tags": "emea, new",
            "tier_1": "Bronze",
        },
    )
    assert good.status_code == 302
    with unscoped():
        partner = Partner.objects.get(name="Initech")
        assert partner.domains == ["initech.example"]
        assert sorted(t.name for t in partner.tags.all()) == ["emea", "new"]
        entry = AuditEntry.objects.get(object_id=partner.public_id)
        assert entry.action == "create" and entry.actor_label == "manager@vendor.test"


def test_domain_error_is_shown_next_to_the_field(world, client_for):
    client = client_for(world.manager)
    response = client.post(
        reverse("partners:create"),
        {"name": "Bad Domain Co", "type": "reseller", "status": "active", "domains": "exa mple..com"},
    )
    assert response.status_code == 200
    assert "is not a valid domain name" in response.text
    with unscoped():
        assert not Partner.objects.filter(name="Bad Domain Co").exists()


def test_tier_change_is_audited_and_shown_on_the_page(world, client_for):
    client = client_for(world.manager)
    url = reverse("partners:tier", args=[world.partner_a.public_id])
    assert client.post(url, {"program": "Partner Program", "tier": "Platinum"}).status_code == 302
    page = client.get(reverse("partners:detail", args=[world.partner_a.public_id])).text
    assert "Platinum" in page
    with unscoped():
        entry = AuditEntry.objects.filter(object_id=world.partner_a.public_id, action="update").latest("at")
    assert entry.changes["tiers"] == {
        "before": {"Partner Program": "Silver"},
        "after": {"Partner Program": "Platinum"},
    }
    assert "Partner Program: Silver" in page and "Partner Program: Platinum" in page


@pytest.mark.parametrize("role_user", ["finance", "analyst"])
def test_read_only_roles_cannot_change_anything(world, children, client_for, role_user):
    client = client_for(getattr(world, role_user))
    assert client.get(reverse("partners:detail", args=[world.partner_a.public_id])).status_code == 200
    assert client.get(reverse("partners:create")).status_code == 403
    assert (
        client.post(
            reverse("partners:tier", args=[world.partner_a.public_id]),
            {"program": "Partner Program", "tier": "Gold"},
        ).status_code
        == 403
    )
    assert client.post(reverse("partners:delete", args=[world.partner_a.public_id])).status_code == 403
    assert (
        client.post(
            reverse("partners:bulk"),
            {"action": "tag", "tag": "x", "partners": [str(world.partner_a.public_id)]},
        ).status_code
        == 403
    )


def test_only_admin_deletes_partners(world, children, client_for):
    url = reverse("partners:delete", args=[world.partner_b.public_id])
    assert client_for(world.manager).post(url).status_code == 403
    assert client_for(world.admin).post(url).status_code == 302
    with unscoped():  # it has contacts and agreements: archived (test_archive.py), never cascaded away
        assert Partner.objects.get(pk=world.partner_b.pk).archived_at is not None
        assert AuditEntry.objects.filter(object_id=world.partner_b.public_id, action="update").exists()


def test_bulk_actions(world, client_for):
    client = client_for(world.manager)
    ids = [str(world.partner_a.public_id), str(world.partner_b.public_id)]
    client.post(
        reverse("partners:bulk"), {"action": "owner", "owner": "manager@vendor.test", "partners": ids}
    )
    client.post(reverse("partners:bulk"), {"action": "tag", "tag": "q3-focus", "partners": ids})
    client.post(
        reverse("partners:bulk"), {"action": "tier", "tier": "Partner Program::Platinum", "partners": ids}
    )
    with unscoped():
        for partner in Partner.objects.filter(pk__in=[world.partner_a.pk, world.partner_b.pk]):
            assert partner.owner.email == "manager@vendor.test"
            assert "q3-focus" in {t.name for t in partner.tags.all()}
            assert partner.enrolments.get().tier.name == "Platinum"
    bad = client.post(
        reverse("partners:bulk"), {"action": "owner", "owner": "nobody@x.test", "partners": ids}, follow=True
    )
    assert "No staff user with e-mail" in bad.text


def test_saved_views_are_per_user(world, client_for):
    manager = client_for(world.manager)
    manager.post(reverse("partners:view_save"), {"name": "German partners", "query": "country=DE"})
    assert "German partners" in manager.get(reverse("partners:list")).text
    assert "German partners" not in client_for(world.analyst).get(reverse("partners:list")).text


def test_contact_and_agreement_forms(world, children, client_for, tmp_path):
    client = client_for(world.manager)
    a = world.partner_a.public_id
    response = client.post(
        reverse("partners:contact_create", args=[a]),
        {"name": "Carl", "email": "not-an-email", "role": "sales"},
    )
    assert response.status_code == 200 and "Enter a valid email address." in response.text
    client.post(
        reverse("partners:contact_create", args=[a]),
        {"name": "Carl", "email": "carl@acme.example", "role": "sales", "is_primary": "on"},
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("terms.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = client.post(
        reverse("partners:agreement_create", args=[a]),
        {
            "title": "NDA",
            "kind": "nda",
            "status": "active",
            "start_date": "2025-05-01",
            "end_date": "2025-04-01",
            "renewal_notice_days": 30,
            "file": upload,
        },
    )
    assert response.status_code == 200 and "The end date is before the start date." in response.text
    upload.seek(0)
    client.post(
        reverse("partners:agreement_create", args=[a]),
        {
            "title": "NDA",
            "kind": "nda",
            "status": "active",
            "start_date": "2025-05-01",
            "end_date": "2027-04-01",
            "renewal_notice_days": 30,
            "file": upload,
        },
    )
    with unscoped():
        nda = Agreement.objects.get(title="NDA")
        assert Contact.objects.get(name="Carl").is_primary
        assert not Contact.objects.get(name="Ann Acme").is_primary
    download = client.get(reverse("partners:agreement_file", args=[nda.public_id]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 test"
    page = client.get(reverse("partners:detail", args=[a])).text
    assert "Carl" in page and "NDA" in page
    assert "expiring" in page.lower()


def test_invite_contact_to_portal_sends_mail_and_grants_partner_scope(
    world, children, client_for, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_for(world.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("partners:contact_invite", args=[children["contact"].public_id]), {"role": "partner_rep"}
        )
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["ann@acme.example"]
    assert "/password-reset/" in mailoutbox[0].body
    with unscoped():
        contact = Contact.objects.get(pk=children["contact"].pk)
        assert contact.user is not None
        membership = contact.user.memberships.get()
        assert membership.partner_id == world.partner_a.pk and membership.role == "partner_rep"
