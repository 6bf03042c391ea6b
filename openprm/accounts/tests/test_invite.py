"""Inviting an address that already has an account elsewhere in the workspace."""

from __future__ import annotations

import pytest
from django.urls import reverse

from openprm.accounts.models import Membership, Notification
from openprm.core.scoping import unscoped

pytestmark = pytest.mark.django_db


def _invite(client, email, captured):  # type: ignore[no-untyped-def]
    with captured(execute=True):
        return client.post(reverse("portal:team"), {"email": email, "role": "partner_rep"}, follow=True)


def _flash(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(str(m) for m in response.context["messages"])


@pytest.mark.parametrize("taken", ["admin@globex.test", "Manager@Vendor.test"])
def test_partner_admin_cannot_tell_an_existing_address_from_a_new_one(
    world, client_for, mailoutbox, django_capture_on_commit_callbacks, taken
):
    client = client_for(world.a_admin)
    fresh = _invite(client, "brand.new@acme.test", django_capture_on_commit_callbacks)
    existing = _invite(client, taken, django_capture_on_commit_callbacks)

    assert fresh.status_code == existing.status_code == 200
    assert _flash(fresh).replace("brand.new@acme.test", "X") == _flash(existing).replace(taken.lower(), "X")
    assert "Invited" in _flash(existing)
    with unscoped():
        # The existing user keeps exactly their own membership: nothing attaches them to Acme.
        owner = Membership.objects.get(user__email=taken.lower())
        assert owner.partner_id != world.partner_a.pk
        assert not Membership.objects.filter(user__email=taken.lower(), partner=world.partner_a).exists()
        # Admins are told about the refused invitation; the partner is not.
        notices = Notification.objects.filter(title__startswith="Refused portal invitation")
        assert {n.user_id for n in notices} == {world.admin.pk}
        assert taken.lower() in notices[0].body and "Acme Resellers" in notices[0].body
    # The address's owner gets a notice (no password link); nothing reveals the other account to Acme.
    notice = mailoutbox[-1]
    assert notice.to == [taken.lower()] and "/password-reset/" not in notice.body


def test_staff_inviting_an_existing_partner_user_gets_a_clear_error_not_a_500(
    world, client_for, django_capture_on_commit_callbacks
):
    response = client_for(world.admin).post(reverse("users"), {"email": "admin@acme.test", "role": "analyst"})
    assert response.status_code == 200
    assert "already has an account in this workspace" in response.text


def test_same_team_duplicate_still_says_so(world, client_for):
    response = client_for(world.a_admin).post(
        reverse("portal:team"), {"email": "rep@acme.test", "role": "partner_rep"}
    )
    assert response.status_code == 200
    assert "already" in response.text


def test_owned_only_staff_inviting_an_address_outside_their_book_gets_an_error_not_a_500(world):
    from django.core.exceptions import ValidationError

    from openprm.accounts.services import user_invite
    from openprm.core.permissions import Role
    from openprm.core.scoping import scope
    from openprm.testing import actor_for, make_user

    own_book = make_user(world.workspace, "own.book@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        world.partner_a.owner = own_book
        world.partner_a.save(update_fields=["owner"])
    actor = actor_for(own_book)
    with scope(actor.access_scope()), pytest.raises(ValidationError) as exc:
        # admin@globex.test belongs to partner B, which this manager cannot see.
        user_invite(
            actor=actor,
            email="admin@globex.test",
            role="partner_rep",
            partner_id=world.partner_a.pk,
            base_url="/",
        )
    assert exc.value.message_dict["email"] == ["This person already has an account in this workspace."]
