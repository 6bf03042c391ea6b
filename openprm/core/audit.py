"""Audit trail: services snapshot an object before and after a change and record the field-level diff."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models

from openprm.core.actors import Actor
from openprm.core.models import AuditEntry

SKIPPED_FIELDS = {"id", "public_id", "created_at", "updated_at", "workspace"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, models.fields.files.FieldFile):
        return value.name or None
    if value is None or isinstance(value, str | int | float | bool | list | dict):
        return value
    return str(value)  # e.g. a Country: its code


def snapshot(instance: models.Model, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Field name → JSON-safe display value for every concrete field, plus ``extra`` (m2m, derived)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if field.name in SKIPPED_FIELDS:
            continue
        if field.is_relation:
            value = getattr(instance, field.name) if getattr(instance, field.attname) is not None else None
        else:
            value = getattr(instance, field.attname)
        data[field.name] = _plain(value)
    for key, value in (extra or {}).items():
        data[key] = _plain(value)
    return data


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in keys
        if before.get(key) != after.get(key)
    }


def audit_record(
    *,
    actor: Actor,
    action: str,
    instance: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    partner_id: int | None = None,
) -> AuditEntry | None:
    """Write one immutable audit entry. Updates that change nothing are not recorded."""
    changes = diff(before or {}, after or {})
    if action == AuditEntry.Action.UPDATE and not changes:
        return None
    entry = AuditEntry(
        workspace_id=actor.workspace_id,
        partner_id=partner_id,
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=action,
        object_type=instance._meta.label_lower,
        object_id=instance.public_id,  # type: ignore[attr-defined]
        object_repr=str(instance)[:300],
        changes=changes,
    )
    entry.save()
    return entry


@contextmanager
def audited_change(*, actor: Actor, instance: models.Model, partner_id: int | None = None) -> Iterator[None]:
    """Record the field-level diff of whatever the block changes and saves on ``instance``."""
    before = snapshot(instance)
    yield
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=instance,
        before=before,
        after=snapshot(instance),
        partner_id=partner_id,
    )


def audited_delete(*, actor: Actor, instance: models.Model, partner_id: int | None = None) -> None:
    """Record the object's last state, then delete it."""
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DELETE,
        instance=instance,
        before=snapshot(instance),
        partner_id=partner_id,
    )
    instance.delete()


def apply_values(instance: models.Model, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(instance, key, value)
