"""Creating and changing partners: fields, status history, tags, program enrolments, each audited."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.partners.models import Partner, PartnerProgram, Program, StatusChange, Tag, Tier
from openprm.partners.services.clean import PartnerInput, PartnerLookups, partner_clean
from openprm.partners.services.tier_history import tier_changes_record


def partner_audit_extra(partner: Partner) -> dict[str, Any]:
    """The m2m/related parts of a partner that the audit trail shows next to its fields."""
    return {
        "tags": sorted(t.name for t in partner.tags.all()),
        "tiers": {e.program.name: (e.tier.name if e.tier else None) for e in partner.enrolments.all()},
    }


def _apply_tags(partner: Partner, names: list[str]) -> None:
    existing = {t.name.lower(): t for t in Tag.objects.filter(name__in=names)}
    wanted = []
    for name in names:
        tag = existing.get(name.lower())
        if tag is None:
            tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(
                workspace_id=partner.workspace_id, name=name
            )
        wanted.append(tag)
    partner.tags.set(wanted)


def _apply_enrolments(
    partner: Partner, enrolments: list[tuple[Program, Tier | None]], actor_label: str = ""
) -> None:
    before = dict(PartnerProgram.objects.filter(partner=partner).values_list("program_id", "tier_id"))
    for program, tier in enrolments:
        PartnerProgram.objects.update_or_create(
            workspace_id=partner.workspace_id, partner=partner, program=program, defaults={"tier": tier}
        )
    tier_changes_record(
        workspace_id=partner.workspace_id,
        moves=[
            (partner.pk, program.pk, before.get(program.pk), tier.pk if tier else None)
            for program, tier in enrolments
            if program.pk not in before or before[program.pk] != (tier.pk if tier else None)
        ],
        actor_label=actor_label,
    )
    # A partner from partner_get() has its enrolments prefetched: drop them so the audit "after" is fresh.
    getattr(partner, "_prefetched_objects_cache", {}).pop("enrolments", None)


def external_ids_check(*, workspace_id: int, claims: Sequence[tuple[str | None, int | None]]) -> None:
    """External ids are unique per workspace, whatever part of it the actor may see. Each claim is (external
    id, pk of the partner taking it; None for a new partner): the id must be free, or already that
    partner's, and not claimed twice. One query; ValidationError naming the first id taken."""
    wanted = [external_id for external_id, _ in claims if external_id]
    if not wanted:
        return
    holders: dict[str, object] = {}  # external id → the pk holding it (a new partner: a token of its own)
    with unscoped():
        taken = Partner.objects.filter(workspace_id=workspace_id, external_id__in=wanted)
        for external_id, holder_pk in taken.values_list("external_id", "pk"):
            holders[str(external_id)] = holder_pk
    for external_id, pk in claims:
        if not external_id:
            continue
        holder = holders.get(external_id)
        if holder is not None and (pk is None or holder != pk):
            raise ValidationError(
                {"external_id": f"Another partner already has external id '{external_id}'."}
            )
        holders[external_id] = pk if pk is not None else object()


@transaction.atomic
def partner_create(*, actor: Actor, data: PartnerInput, lookups: PartnerLookups | None = None) -> Partner:
    actor.require(Perm.PARTNER_EDIT)
    lookups = lookups or PartnerLookups.load(actor)
    values = partner_clean(data=data, lookups=lookups, creating=True)
    tags = values.pop("tags", [])
    enrolments = values.pop("tiers", None)
    if enrolments is None and lookups.default_program is not None:
        enrolments = [(lookups.default_program, None)]
    external_ids_check(workspace_id=actor.workspace_id, claims=[(values.get("external_id"), None)])
    if actor.owned_only and "owner_id" not in values:
        values["owner_id"] = actor.user_id
    partner = Partner(workspace_id=actor.workspace_id, **values)
    partner.save()
    StatusChange.objects.create(
        workspace_id=actor.workspace_id, partner=partner, to_status=partner.status, actor_label=actor.label
    )
    _apply_tags(partner, tags)
    _apply_enrolments(partner, enrolments or [], actor.label)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=partner,
        after=snapshot(partner, partner_audit_extra(partner)),
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partner_update(
    *, actor: Actor, partner: Partner, data: PartnerInput, lookups: PartnerLookups | None = None
) -> Partner:
    actor.require(Perm.PARTNER_EDIT)
    lookups = lookups or PartnerLookups.load(actor)
    values = partner_clean(data=data, lookups=lookups, creating=False)
    before = snapshot(partner, partner_audit_extra(partner))
    tags = values.pop("tags", None)
    enrolments = values.pop("tiers", None)
    if "external_id" in values:
        external_ids_check(workspace_id=actor.workspace_id, claims=[(values["external_id"], partner.pk)])
    old_status = partner.status
    for key, value in values.items():
        setattr(partner, key, value)
    if partner.status != old_status:
        partner.status_changed_at = timezone.now()
        StatusChange.objects.create(
            workspace_id=actor.workspace_id,
            partner=partner,
            from_status=old_status,
            to_status=partner.status,
            actor_label=actor.label,
        )
    partner.save()
    if tags is not None:
        _apply_tags(partner, tags)
    if enrolments is not None:
        _apply_enrolments(partner, enrolments, actor.label)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=partner,
        before=before,
        after=snapshot(partner, partner_audit_extra(partner)),
        partner_id=partner.pk,
    )
    return partner


@transaction.atomic
def partners_bulk_update(
    *,
    actor: Actor,
    partners: Iterable[Partner],
    owner_email: str | None = None,
    add_tags: list[str] | None = None,
    tier: tuple[str, str] | None = None,
) -> int:
    """Assign an owner, add tags and/or set a tier (program name, tier name) on many partners."""
    actor.require(Perm.PARTNER_EDIT)
    lookups = PartnerLookups.load(actor)
    count = 0
    for partner in partners:
        data: PartnerInput = {}
        if owner_email is not None:
            data["owner_email"] = owner_email
        if add_tags:
            data["tags"] = sorted({t.name for t in partner.tags.all()} | set(add_tags))
        if tier is not None:
            data["tiers"] = {tier[0]: tier[1]}
        partner_update(actor=actor, partner=partner, data=data, lookups=lookups)
        count += 1
    return count
