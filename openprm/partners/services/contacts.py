"""A partner's contacts: staff edit any partner's, partner admins their own; a contact can be invited to the
portal."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from openprm.accounts.models import Membership
from openprm.accounts.services import user_invite
from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import PARTNER_ROLES, Perm
from openprm.core.validation import clean_text
from openprm.partners.models import Contact, Partner
from openprm.partners.services.clean import clean_choice


def _require_contact_edit(actor: Actor, partner: Partner) -> None:
    if actor.is_partner_user:
        actor.require(Perm.CONTACT_EDIT_OWN)
        if partner.pk != actor.partner_id:
            raise PermissionDenied("Not your partner")
    else:
        actor.require(Perm.PARTNER_EDIT)


CONTACT_FIELDS = ("name", "email", "phone", "title", "role", "is_primary")


def _contact_clean(data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "name" in data:
        out["name"] = clean_text(errors, "name", data.get("name"), 200, required=True)
    if "email" in data:
        email = clean_text(errors, "email", data["email"], 254).lower()
        if email and "email" not in errors:
            try:
                validate_email(email)
            except ValidationError:
                errors["email"] = f"'{email}' is not a valid e-mail address."
        out["email"] = email
    if "phone" in data:
        out["phone"] = clean_text(errors, "phone", data["phone"], 40)
    if "title" in data:
        out["title"] = clean_text(errors, "title", data["title"], 120)
    if "role" in data:
        out["role"] = clean_choice(
            errors, "role", data["role"], Contact.Role.values, "contact role", Contact.Role.OTHER
        )
    if "is_primary" in data:
        out["is_primary"] = bool(data["is_primary"])
    if errors:
        raise ValidationError(errors)
    return out


@transaction.atomic
def contact_create(*, actor: Actor, partner: Partner, data: dict[str, Any]) -> Contact:
    _require_contact_edit(actor, partner)
    values = _contact_clean(data, creating=True)
    contact = Contact(workspace_id=actor.workspace_id, partner=partner, **values)
    contact.save()
    if contact.is_primary:
        Contact.objects.filter(partner=partner).exclude(pk=contact.pk).update(is_primary=False)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=contact,
        after=snapshot(contact),
        partner_id=partner.pk,
    )
    return contact


@transaction.atomic
def contact_update(*, actor: Actor, contact: Contact, data: dict[str, Any]) -> Contact:
    _require_contact_edit(actor, contact.partner)
    values = _contact_clean(data, creating=False)
    with audited_change(actor=actor, instance=contact, partner_id=contact.partner_id):
        apply_values(contact, values)
        contact.save()
    if contact.is_primary:
        Contact.objects.filter(partner_id=contact.partner_id).exclude(pk=contact.pk).update(is_primary=False)
    return contact


@transaction.atomic
def contact_delete(*, actor: Actor, contact: Contact) -> None:
    _require_contact_edit(actor, contact.partner)
    audited_delete(actor=actor, instance=contact, partner_id=contact.partner_id)


@transaction.atomic
def contact_invite(*, actor: Actor, contact: Contact, role: str, base_url: str) -> Membership:
    """Give a contact a portal login for their partner and e-mail them a link to set a password."""
    if actor.is_partner_user and contact.partner_id != actor.partner_id:
        raise PermissionDenied("Not your partner")
    if role not in PARTNER_ROLES:
        raise ValidationError(
            {"role": "Choose a partner role: partner_admin, partner_manager or partner_rep."}
        )
    if not contact.email:
        raise ValidationError({"email": "The contact needs an e-mail address to be invited."})
    if contact.user_id is not None:
        raise ValidationError({"email": "This contact already has a portal login."})
    membership = user_invite(
        actor=actor,
        email=contact.email,
        full_name=contact.name,
        role=role,
        partner_id=contact.partner_id,
        base_url=base_url,
    )
    contact.user = membership.user
    contact.save(update_fields=["user", "updated_at"])
    return membership
