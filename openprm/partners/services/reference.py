"""Workspace reference data that admins define: partner types and custom partner fields."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import audit_record, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.validation import clean_text
from openprm.partners.models import CustomFieldDefinition, PartnerType
from openprm.partners.services.clean import clean_choice

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _clean_key(errors: dict[str, str], raw: Any) -> str:
    key = clean_text(errors, "key", raw, 40, required=True).lower()
    if key and "key" not in errors and not KEY_RE.match(key):
        errors["key"] = "Use lower-case letters, digits and underscores, starting with a letter."
    return key


@transaction.atomic
def partner_type_create(*, actor: Actor, key: str, label: str) -> PartnerType:
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    key = _clean_key(errors, key)
    label = clean_text(errors, "label", label, 80, required=True)
    if key and PartnerType.objects.filter(key=key).exists():
        errors["key"] = f"A partner type '{key}' already exists."
    if errors:
        raise ValidationError(errors)
    partner_type = PartnerType.objects.create(workspace_id=actor.workspace_id, key=key, label=label)
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=partner_type, after=snapshot(partner_type)
    )
    return partner_type


@transaction.atomic
def custom_field_create(
    *, actor: Actor, key: str, label: str, field_type: str, choices: list[str], required: bool = False
) -> CustomFieldDefinition:
    actor.require(Perm.WORKSPACE_ADMIN)
    errors: dict[str, str] = {}
    key = _clean_key(errors, key)
    label = clean_text(errors, "label", label, 80, required=True)
    field_type = clean_choice(
        errors, "field_type", field_type, CustomFieldDefinition.FieldType.values, "field type"
    )
    cleaned_choices = [c for c in (clean_text(errors, "choices", c, 100) for c in choices) if c]
    if field_type == CustomFieldDefinition.FieldType.CHOICE and not cleaned_choices:
        errors["choices"] = "A choice field needs at least one choice."
    if key and CustomFieldDefinition.objects.filter(key=key).exists():
        errors["key"] = f"A custom field '{key}' already exists."
    if errors:
        raise ValidationError(errors)
    definition = CustomFieldDefinition.objects.create(
        workspace_id=actor.workspace_id,
        key=key,
        label=label,
        field_type=field_type,
        choices=cleaned_choices if field_type == CustomFieldDefinition.FieldType.CHOICE else [],
        required=required,
    )
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=definition, after=snapshot(definition)
    )
    return definition


@transaction.atomic
def custom_field_delete(*, actor: Actor, definition: CustomFieldDefinition) -> None:
    """Remove a custom field definition; values already stored on partners are kept in their history."""
    actor.require(Perm.WORKSPACE_ADMIN)
    audited_delete(actor=actor, instance=definition)
