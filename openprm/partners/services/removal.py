"""Removing a partner, the safe way first: archive (restorable) or delete one without history; purge on
explicit request only."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.accounts.models import Membership
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.partners.models import Partner
from openprm.partners.services.partners import partner_audit_extra

# Rows a partner gets when it is set up rather than worked with: they alone do not make it "history".
SETUP_RELATIONS = frozenset(
    {
        "partners.partner_tags",
        "partners.partnerprogram",
        "partners.statuschange",
        "partners.contact",
        "accounts.membership",
        "accounts.notification",
        "activity.rollupdirty",
        "core.auditentry",
    }
)


class PurgeStep(Protocol):
    """An app above this one deleting its rows of a purged partner itself, through its own write path
    (see :func:`register_purge_step`); returns the deleted row counts per model label."""

    def __call__(self, *, partner: Partner) -> Mapping[str, int]: ...


_PURGE_STEPS: dict[str, PurgeStep] = {}


def register_purge_step(name: str, step: PurgeStep) -> None:
    """Run ``step(partner=...)`` inside every partner purge's transaction, before the cascade. For apps
    whose derived rows the cascade alone would leave wrong: the deals app deletes the partner's deals
    inside its rollup tracking, so the co-sold wins they credited to other partners go with them.
    Registered from the app's ``AppConfig.ready`` (this layer does not import the apps above it)."""
    _PURGE_STEPS[name] = step


def partner_has_history(*, partner: Partner) -> bool:
    """Whether anything happened with the partner beyond its set-up: a deal, event, click, conversion,
    link, agreement, ... (any row of another table pointing at it), or an audit entry besides its creation.
    The tables are found through the model relations, so apps above this one need not be imported."""
    with unscoped():
        for relation in Partner._meta.get_fields(include_hidden=True):
            if not relation.auto_created or relation.concrete or relation.many_to_many:
                continue
            model = relation.related_model
            assert model is not None and not isinstance(model, str)
            if model._meta.label_lower in SETUP_RELATIONS:
                continue
            field_name = relation.field.name  # type: ignore[union-attr]
            if model._default_manager.filter(**{field_name: partner.pk}).exists():
                return True
        return (
            AuditEntry.objects.filter(workspace_id=partner.workspace_id, partner_id=partner.pk)
            .exclude(object_type=Partner._meta.label_lower, action=AuditEntry.Action.CREATE)
            .exists()
        )


def _archive_snapshot(partner: Partner, logins: list[str]) -> dict[str, Any]:
    return {"archived_at": _plain_time(partner.archived_at), "portal_logins_suspended": logins}


def _plain_time(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value else None


@transaction.atomic
def partner_archive(*, actor: Actor, partner: Partner) -> Partner:
    """Hide the partner from lists, exports and pickers and suspend its portal logins (their users cannot
    sign in or use their tokens until it is restored). Its deals, events and history stay. Audited."""
    actor.require(Perm.PARTNER_DELETE)
    if partner.archived_at is not None:
        return partner
    now = timezone.now()
    with unscoped():
        memberships = Membership.objects.filter(partner=partner, is_active=True)
        logins = sorted(memberships.values_list("user__email", flat=True))
        # Stamped with the archive time, so a restore re-opens exactly these logins.
        memberships.update(is_active=False, updated_at=now)
    partner.archived_at = now
    partner.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=partner,
        before=_archive_snapshot(partner, []) | {"archived_at": None},
        after=_archive_snapshot(partner, logins),
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partner_restore(*, actor: Actor, partner: Partner) -> Partner:
    """Bring an archived partner back, with the portal logins its archiving suspended. Audited."""
    actor.require(Perm.PARTNER_DELETE)
    archived_at = partner.archived_at
    if archived_at is None:
        return partner
    with unscoped():
        memberships = Membership.objects.filter(partner=partner, is_active=False, updated_at=archived_at)
        logins = sorted(memberships.values_list("user__email", flat=True))
        memberships.update(is_active=True, updated_at=timezone.now())
    partner.archived_at = None
    partner.save(update_fields=["archived_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=partner,
        before={"archived_at": _plain_time(archived_at), "portal_logins_restored": []},
        after={"archived_at": None, "portal_logins_restored": logins},
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partner_delete(*, actor: Actor, partner: Partner) -> str:
    """Remove a partner the safe way: one with history is archived (restorable); one with none at all is
    deleted outright. Returns "archived" or "deleted". Both are audited; nothing is cascaded away."""
    actor.require(Perm.PARTNER_DELETE)
    if partner.archived_at is not None or partner_has_history(partner=partner):
        partner_archive(actor=actor, partner=partner)
        return "archived"
    before = snapshot(partner, partner_audit_extra(partner))
    audit_record(
        actor=actor, action=AuditEntry.Action.DELETE, instance=partner, before=before, partner_id=partner.pk
    )
    with unscoped():
        Membership.objects.filter(partner=partner).delete()
    partner.delete()
    return "deleted"


@transaction.atomic
def partner_purge(*, actor: Actor, partner: Partner, confirm: str) -> dict[str, int]:
    """Delete the partner and everything of it (deals, events, clicks, links, memberships, ...) in one
    transaction. Admins only; ``confirm`` must repeat the partner's name. The audit entry recording the
    purge (with the counts of what went) is kept. Returns the deleted row counts per model."""
    actor.require(Perm.WORKSPACE_ADMIN)
    if confirm.strip() != partner.name:
        raise ValidationError(
            {"confirm": f"Type the partner's exact name ({partner.name!r}) to confirm the purge."}
        )
    before = snapshot(partner, partner_audit_extra(partner))
    entry = AuditEntry(
        workspace_id=actor.workspace_id,
        partner_id=partner.pk,
        actor_id=actor.user_id,
        actor_label=actor.label[:254],
        action=AuditEntry.Action.DELETE,
        object_type=Partner._meta.label_lower,
        object_id=partner.public_id,
        object_repr=f"{partner} (purged)"[:300],
    )
    counts: dict[str, int] = {}
    with unscoped():
        for step in _PURGE_STEPS.values():  # the apps' own write paths first (deal rollups stay exact)
            for label, deleted in step(partner=partner).items():
                counts[label] = counts.get(label, 0) + deleted
        Membership.objects.filter(partner=partner).delete()
        for label, deleted in Partner.objects.filter(pk=partner.pk).delete()[1].items():
            counts[label] = counts.get(label, 0) + deleted
    entry.changes = {
        **{key: {"before": value, "after": None} for key, value in before.items()},
        "purged": {"before": None, "after": {k: v for k, v in sorted(counts.items()) if v}},
    }
    entry.save()
    return counts
