"""Partner portal: partner users see their own partner only; partner admins manage their own team."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openprm.accounts.models import Membership
from openprm.core.scoping import scope, unscoped
from openprm.partners import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def contacts(world):
    with scope(world.system.access_scope()):
        a = services.contact_create(
            actor=world.system,
            partner=world.partner_a,
            data={"name": "Ann Acme", "email": "ann@acme.example"},
        )
        b = services.contact_create(
            actor=world.system,
            partner=world.partner_b,
            data={"name": "Bob Globex", "email": "bob@globex.example"},
        )
    return a, b


def test_partner_user_sees_own_partner_and_contacts_only(world, contacts, client_for):
    page = client_for(world.a_rep).get(reverse("portal:home"))
    assert page.status_code == 200
    assert "Acme Resellers" in page.text and "Ann Acme" in page.text
    assert "Globex" not in page.text and "Bob Globex" not in page.text


def test_home_redirects_each_kind_of_user(world, client_for):
    assert client_for(world.a_rep).get("/").url == reverse("portal:home")
    assert client_for(world.manager).get("/").url == reverse("partners:list")


def test_staff_get_404_in_the_portal(world, client_for):
    assert client_for(world.admin).get(reverse("portal:home")).status_code == 404
    assert client_for(world.admin).get(reverse("portal:team")).status_code == 404


def test_other_partners_contacts_and_team_members_are_404(world, contacts, client_for):
    _, contact_b = contacts
    client = client_for(world.a_admin)
    assert client.get(reverse("portal:contact_edit", args=[contact_b.public_id])).status_code == 404
    assert (
        client.post(
            reverse("portal:contact_edit", args=[contact_b.public_id]), {"name": "Hijacked", "role": "other"}
        ).status_code
        == 404
    )
    with unscoped():
        b_membership = Membership.objects.get(user=world.b_admin)
    response = client.post(reverse("portal:team_member", args=[b_membership.public_id]), {"is_active": "0"})
    assert response.status_code == 404
    with unscoped():
        b_membership.refresh_from_db()
        assert b_membership.is_active
        assert Membership.objects.get(user=world.b_admin).is_active


def test_partner_admin_edits_own_contacts_but_rep_cannot(world, contacts, client_for):
    contact_a, _ = contacts
    url = reverse("portal:contact_edit", args=[contact_a.public_id])
    assert client_for(world.a_rep).post(url, {"name": "Changed", "role": "other"}).status_code == 403
    response = client_for(world.a_admin).post(
        url, {"name": "Ann A. Acme", "email": "ann@acme.example", "role": "sales"}
    )
    assert response.status_code == 302
    contact_a.refresh_from_db()
    assert contact_a.name == "Ann A. Acme"


def test_partner_admin_manages_own_team(world, client_for, mailoutbox, django_capture_on_commit_callbacks):
    client = client_for(world.a_admin)
    page = client.get(reverse("portal:team"))
    assert "rep@acme.test" in page.text and "admin@globex.test" not in page.text
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:team"), {"email": "new@acme.test", "role": "partner_rep"})
    assert response.status_code == 302
    assert mailoutbox and mailoutbox[0].to == ["new@acme.test"]
    with unscoped():
        new = Membership.objects.get(user__email="new@acme.test")
        assert new.partner_id == world.partner_a.pk
        rep = Membership.objects.get(user=world.a_rep)
    client.post(reverse("portal:team_member", args=[rep.public_id]), {"role": "partner_manager"})
    client.post(reverse("portal:team_member", args=[rep.public_id]), {"is_active": "0"})
    with unscoped():
        rep.refresh_from_db()
    assert rep.role == "partner_manager" and not rep.is_active
    assert client_for(world.a_rep).get(reverse("portal:team")).status_code in (403, 404)


def test_partner_rep_cannot_open_team_page(world, client_for):
    assert client_for(world.a_rep).get(reverse("portal:team")).status_code == 403


def test_deactivated_partner_user_loses_access(world, client_for):
    with unscoped():
        Membership.objects.filter(user=world.a_rep).update(is_active=False)
    response = client_for(world.a_rep).get(reverse("portal:home"))
    assert response.status_code == 404
