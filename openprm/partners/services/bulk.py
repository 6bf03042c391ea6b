"""Batch writes for imports: the rows ``partner_create`` / ``partner_update`` write, a batch at a time.

The per-row services cost about ten queries and a savepoint per partner, so a 10,000-row file took
minutes; these write each batch in a handful of statements. They take values already cleaned by
``partner_clean`` and must stay in step with the services: the partner fields, its status history, tags,
enrolments and the audit entry (same ``changes``). ``tests/test_bulk.py`` compares both paths on the same
input; extend it when the services gain a side effect.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.utils import timezone

from openprm.accounts.models import User
from openprm.core.actors import Actor
from openprm.core.audit import diff, snapshot
from openprm.core.models import AuditEntry
from openprm.partners.models import Partner, PartnerProgram, Program, StatusChange, Tag, Tier
from openprm.partners.services.clean import PartnerLookups

Enrolments = dict[int, int | None]  # program id → tier id
# (partner as it is, its tag names, its enrolments, the cleaned values that change)
PartnerUpdate = tuple[Partner, list[str], Enrolments, dict[str, Any]]


class PartnerBulkWriter:
    def __init__(self, *, actor: Actor, lookups: PartnerLookups) -> None:
        self.actor = actor
        self.lookups = lookups
        self.programs = {p.pk: p for p in lookups.programs.values()}
        self.tiers = {t.pk: t for t in lookups.tiers.values()}
        self._tags: dict[str, Tag] | None = None  # exact name → tag
        self._tags_lower: dict[str, Tag] = {}  # lower-cased name → first tag by name
        self._owners: dict[int, User] | None = None

    # --- shared -----------------------------------------------------------------------------------

    def _owner(self, user_id: int | None) -> User | None:
        if user_id is None:
            return None
        if self._owners is None:
            self._owners = User.objects.in_bulk(list(self.lookups.owners.values()))
        return self._owners.get(user_id)

    def _resolve_tags(self, names: list[str]) -> list[Tag]:
        """Like the service: an exact-case match, else a case-insensitive one, else a new tag."""
        if self._tags is None:
            self._tags = {}
            for tag in Tag.objects.order_by("name"):
                self._tags[tag.name] = tag
                self._tags_lower.setdefault(tag.name.lower(), tag)
        resolved: dict[int, Tag] = {}
        for name in names:
            found = self._tags.get(name) or self._tags_lower.get(name.lower())
            if found is not None:
                tag = found
            else:
                tag = Tag.objects.create(workspace_id=self.actor.workspace_id, name=name)
                self._tags[tag.name] = tag
                self._tags_lower[tag.name.lower()] = tag
            resolved[tag.pk] = tag
        return list(resolved.values())

    def _extra(self, tags: list[str], enrolments: Enrolments) -> dict[str, Any]:
        """What the services add to the audit snapshot (see services.partners.partner_audit_extra)."""
        tiers = {}
        for program_id, tier_id in enrolments.items():
            tier = self.tiers.get(tier_id) if tier_id is not None else None
            tiers[self.programs[program_id].name] = tier.name if tier else None
        return {"tags": sorted(tags), "tiers": tiers}

    def _audit(self, action: str, partner: Partner, changes: dict[str, Any]) -> AuditEntry:
        return AuditEntry(
            workspace_id=self.actor.workspace_id,
            partner_id=partner.pk,
            actor_id=self.actor.user_id,
            actor_label=self.actor.label[:254],
            action=action,
            object_type=Partner._meta.label_lower,
            object_id=partner.public_id,
            object_repr=str(partner)[:300],
            changes=changes,
        )

    def _status_change(self, partner: Partner, from_status: str) -> StatusChange:
        return StatusChange(
            workspace_id=self.actor.workspace_id,
            partner=partner,
            from_status=from_status,
            to_status=partner.status,
            actor_label=self.actor.label,
        )

    # --- create -----------------------------------------------------------------------------------

    def create(self, batch: list[dict[str, Any]]) -> None:
        if not batch:
            return
        actor, default = self.actor, self.lookups.default_program
        items: list[tuple[Partner, list[Tag], list[tuple[Program, Tier | None]]]] = []
        for cleaned in batch:
            values = dict(cleaned)
            tag_names: list[str] = values.pop("tags", [])
            enrolments = values.pop("tiers", None)
            if enrolments is None and default is not None:
                enrolments = [(default, None)]
            if actor.owned_only and "owner_id" not in values:
                values["owner_id"] = actor.user_id
            partner = Partner(workspace_id=actor.workspace_id, **values)
            if partner.owner_id is not None:
                partner.owner = self._owner(partner.owner_id)  # cached for the audit snapshot
            items.append((partner, self._resolve_tags(tag_names), enrolments or []))
        Partner.objects.bulk_create([partner for partner, _, _ in items])
        links: list[Any] = []  # rows of the auto-created Partner.tags through model
        enrolment_rows: list[PartnerProgram] = []
        for partner, tags, enrolments in items:
            links.extend(Partner.tags.through(partner_id=partner.pk, tag_id=tag.pk) for tag in tags)
            enrolment_rows.extend(
                PartnerProgram(workspace_id=actor.workspace_id, partner=partner, program=program, tier=tier)
                for program, tier in enrolments
            )
        StatusChange.objects.bulk_create([self._status_change(partner, "") for partner, _, _ in items])
        Partner.tags.through.objects.bulk_create(links)
        PartnerProgram.objects.bulk_create(enrolment_rows)
        entries = []
        for partner, tags, enrolments in items:
            extra = self._extra(
                [t.name for t in tags],
                {program.pk: (tier.pk if tier else None) for program, tier in enrolments},
            )
            entries.append(self._audit(AuditEntry.Action.CREATE, partner, diff({}, snapshot(partner, extra))))
        AuditEntry.objects.bulk_create(entries)

    # --- update -----------------------------------------------------------------------------------

    def update(self, batch: list[PartnerUpdate]) -> None:
        if not batch:
            return
        now = timezone.now()
        fields: set[str] = {"updated_at"}
        status_changes: list[StatusChange] = []
        retagged: dict[int, list[Tag]] = {}
        new_enrolments: list[PartnerProgram] = []
        tier_moves: dict[tuple[int, int | None], list[int]] = defaultdict(list)  # (program, tier) → partners
        entries: list[AuditEntry] = []
        for partner, tag_names, enrolments, cleaned in batch:
            values = dict(cleaned)
            before = snapshot(partner, self._extra(tag_names, enrolments))
            new_tags = values.pop("tags", None)
            new_tiers = values.pop("tiers", None)
            old_status = partner.status
            for key, value in values.items():
                if key == "owner_id":
                    partner.owner = self._owner(value)
                    fields.add("owner")
                else:
                    setattr(partner, key, value)
                    fields.add(key)
            if partner.status != old_status:
                partner.status_changed_at = now
                fields.add("status_changed_at")
                status_changes.append(self._status_change(partner, old_status))
            partner.updated_at = now
            if new_tags is not None:
                tags = self._resolve_tags(new_tags)
                retagged[partner.pk] = tags
                tag_names = [t.name for t in tags]
            if new_tiers is not None:
                enrolments = dict(enrolments)
                for program, tier in new_tiers:
                    tier_id = tier.pk if tier else None
                    if program.pk not in enrolments:
                        new_enrolments.append(
                            PartnerProgram(
                                workspace_id=self.actor.workspace_id,
                                partner=partner,
                                program=program,
                                tier=tier,
                            )
                        )
                    elif enrolments[program.pk] != tier_id:
                        tier_moves[(program.pk, tier_id)].append(partner.pk)
                    enrolments[program.pk] = tier_id
            changes = diff(before, snapshot(partner, self._extra(tag_names, enrolments)))
            if changes:
                entries.append(self._audit(AuditEntry.Action.UPDATE, partner, changes))
        Partner.objects.bulk_update([item[0] for item in batch], sorted(fields))
        StatusChange.objects.bulk_create(status_changes)
        if retagged:
            through = Partner.tags.through
            through.objects.filter(partner_id__in=list(retagged)).delete()
            through.objects.bulk_create(
                [through(partner_id=pk, tag_id=tag.pk) for pk, tags in retagged.items() for tag in tags]
            )
        for (program_id, tier_id), partner_ids in tier_moves.items():
            PartnerProgram.objects.filter(partner_id__in=partner_ids, program_id=program_id).update(
                tier_id=tier_id, updated_at=now
            )
        PartnerProgram.objects.bulk_create(new_enrolments)
        AuditEntry.objects.bulk_create(entries)
