"""The partners bulk service: what ``partner_create`` / ``partner_update`` write, a batch at a time.

The per-object services cost about ten queries and a savepoint per partner, so a 10,000-row file took
minutes; this writes each batch in a handful of statements (no per-row saves). Imports and the demo call
it; any later bulk path should too. It takes values already cleaned by ``partner_clean`` (the caller
reports bad rows itself) and applies the services' rules and side effects:

- the right to edit partners (``Perm.PARTNER_EDIT``), checked once per writer;
- external ids unique per workspace, whoever may see the partner holding one, and not twice in a batch
  (``external_ids_check``, the services' own check; a ``ValidationError`` naming ``external_id``);
- a new partner without an owner is owned by an owned-only writer, and enrolled in the default program
  when no program is given; the owner given is stored as given;
- per partner: its status history (a row per status change), its tags (an existing tag whatever its
  case, else a new one, created once per batch), its enrolments and tiers, and one audit entry with the
  services' action and ``changes`` (tags sorted, programs by name). An update that changes nothing
  records nothing, as ``audit_record`` does.

``tests/test_bulk.py`` compares both paths on the same input; extend it when the services gain a rule or
a side effect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone

from openprm.accounts.models import User
from openprm.core.actors import Actor
from openprm.core.audit import diff, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.partners.models import Partner, PartnerProgram, Program, StatusChange, Tag, Tier
from openprm.partners.services.clean import PartnerLookups
from openprm.partners.services.partners import external_ids_check
from openprm.partners.services.tier_history import Move, tier_changes_record

Enrolments = dict[int, int | None]  # program id → tier id
# (partner as it is, its tag names, its enrolments, the cleaned values that change)
PartnerUpdate = tuple[Partner, list[str], Enrolments, dict[str, Any]]
NewPartner = tuple[Partner, list[Tag], list[tuple[Program, Tier | None]]]


class _Tags:
    """The workspace's tags by name, loaded once: ``resolve`` finds each name as the service does (the
    exact spelling, else the first tag by name that differs only in case) and creates the missing ones,
    once per batch whatever their case (the first spelling wins), in one statement."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.exact: dict[str, Tag] | None = None
        self.folded: dict[str, Tag] = {}

    def _find(self, name: str) -> Tag | None:
        if self.exact is None:
            self.exact = {}
            for tag in Tag.objects.order_by("name"):
                self._add(tag)
        return self.exact.get(name) or self.folded.get(name.lower())

    def _add(self, tag: Tag) -> None:
        assert self.exact is not None
        self.exact[tag.name] = tag
        self.folded.setdefault(tag.name.lower(), tag)

    def resolve(self, batch: list[list[str]]) -> list[list[Tag]]:
        missing: dict[str, str] = {}  # lower-cased → first spelling
        for names in batch:
            for name in names:
                if self._find(name) is None:
                    missing.setdefault(name.lower(), name)
        created = Tag.objects.bulk_create(
            [Tag(workspace_id=self.workspace_id, name=name) for name in missing.values()]
        )
        for tag in created:
            self._add(tag)
        return [
            list({tag.pk: tag for tag in map(self._find, names) if tag is not None}.values())
            for names in batch
        ]


class PartnerBulkWriter:
    """Writes batches of partners for one actor; the lookups are those their values were cleaned with."""

    def __init__(self, *, actor: Actor, lookups: PartnerLookups) -> None:
        actor.require(Perm.PARTNER_EDIT)
        self.actor = actor
        self.lookups = lookups
        self.programs = {p.pk: p for p in lookups.programs.values()}
        self.tiers = {t.pk: t for t in lookups.tiers.values()}
        self.tags = _Tags(actor.workspace_id)
        self.users: dict[int, User] = {}

    # --- create -----------------------------------------------------------------------------------

    def create(self, batch: list[dict[str, Any]]) -> None:
        """New partners from ``partner_clean(..., creating=True)`` values (model values may be added)."""
        if not batch:
            return
        claims = [(values.get("external_id"), None) for values in batch]
        external_ids_check(workspace_id=self.actor.workspace_id, claims=claims)
        with self._atomic():
            items = self._new_partners(batch)
            partners = [partner for partner, _, _ in items]
            Partner.objects.bulk_create(partners)
            StatusChange.objects.bulk_create([self._status_change(p, "") for p in partners])
            through = Partner.tags.through
            through.objects.bulk_create(
                [through(partner_id=p.pk, tag_id=tag.pk) for p, tags, _ in items for tag in tags]
            )
            PartnerProgram.objects.bulk_create(
                [
                    self._enrolment(p, program, tier)
                    for p, _, enrolments in items
                    for program, tier in enrolments
                ]
            )
            tier_changes_record(
                workspace_id=self.actor.workspace_id,
                moves=[
                    (p.pk, program.pk, None, tier.pk if tier else None)
                    for p, _, enrolments in items
                    for program, tier in enrolments
                ],
                actor_label=self.actor.label,
            )
            AuditEntry.objects.bulk_create([self._created_entry(*item) for item in items])

    def _new_partners(self, batch: list[dict[str, Any]]) -> list[NewPartner]:
        actor, default = self.actor, self.lookups.default_program
        values = [dict(cleaned) for cleaned in batch]
        tags = self.tags.resolve([v.pop("tags", []) for v in values])
        items: list[NewPartner] = []
        for partner_values, partner_tags in zip(values, tags, strict=True):
            enrolments = partner_values.pop("tiers", None)
            if enrolments is None and default is not None:
                enrolments = [(default, None)]
            if actor.owned_only and "owner_id" not in partner_values:
                partner_values["owner_id"] = actor.user_id
            items.append(
                (Partner(workspace_id=actor.workspace_id, **partner_values), partner_tags, enrolments or [])
            )
        self._cache_owners([partner for partner, _, _ in items])
        return items

    def _created_entry(
        self, partner: Partner, tags: list[Tag], enrolments: list[tuple[Program, Tier | None]]
    ) -> AuditEntry:
        names = [t.name for t in tags]
        extra = self._extra(names, {program.pk: (tier.pk if tier else None) for program, tier in enrolments})
        return self._audit(AuditEntry.Action.CREATE, partner, diff({}, snapshot(partner, extra)))

    # --- update -----------------------------------------------------------------------------------

    def update(self, batch: list[PartnerUpdate]) -> None:
        """Changes to existing partners: each is (the partner as loaded, its tag names, its enrolments,
        the cleaned values that change)."""
        if not batch:
            return
        claims = [(values["external_id"], p.pk) for p, _, _, values in batch if "external_id" in values]
        external_ids_check(workspace_id=self.actor.workspace_id, claims=claims)
        self._cache_owners([], owner_ids=[v["owner_id"] for _, _, _, v in batch if v.get("owner_id")])
        with self._atomic():
            tags = self.tags.resolve([values.get("tags") or [] for _, _, _, values in batch])
            change = _BatchChange(now=timezone.now())
            for (partner, tag_names, enrolments, values), new_tags in zip(batch, tags, strict=True):
                self._change(change, partner, tag_names, enrolments, values, new_tags)
            self._write(change, [partner for partner, _, _, _ in batch])

    def _change(
        self,
        change: _BatchChange,
        partner: Partner,
        tag_names: list[str],
        enrolments: Enrolments,
        cleaned: dict[str, Any],
        new_tags: list[Tag],
    ) -> None:
        """Apply one partner's values in memory and collect what the batch writes for it."""
        values = dict(cleaned)
        before = snapshot(partner, self._extra(tag_names, enrolments))
        values.pop("tags", None)
        new_tiers = values.pop("tiers", None)
        old_status = partner.status
        for key, value in values.items():
            setattr(partner, key, value)
            change.fields.add("owner" if key == "owner_id" else key)
            if key == "owner_id" and value in self.users:
                partner.owner = self.users[value]  # loaded once per batch for the audit snapshot
        if partner.status != old_status:
            partner.status_changed_at = change.now
            change.fields.add("status_changed_at")
            change.status_changes.append(self._status_change(partner, old_status))
        partner.updated_at = change.now
        if "tags" in cleaned:
            change.retagged[partner.pk] = new_tags
            tag_names = [t.name for t in new_tags]
        if new_tiers is not None:
            enrolments = self._enrol(change, partner, enrolments, new_tiers)
        changes = diff(before, snapshot(partner, self._extra(tag_names, enrolments)))
        if changes:
            change.entries.append(self._audit(AuditEntry.Action.UPDATE, partner, changes))

    def _enrol(
        self,
        change: _BatchChange,
        partner: Partner,
        enrolments: Enrolments,
        new_tiers: list[tuple[Program, Tier | None]],
    ) -> Enrolments:
        """The partner's enrolments after ``new_tiers``: new ones are created, changed tiers moved."""
        enrolments = dict(enrolments)
        for program, tier in new_tiers:
            tier_id = tier.pk if tier else None
            if program.pk not in enrolments:
                change.enrolments.append(self._enrolment(partner, program, tier))
                change.history.append((partner.pk, program.pk, None, tier_id))
            elif enrolments[program.pk] != tier_id:
                change.tier_moves[(program.pk, tier_id)].append(partner.pk)
                change.history.append((partner.pk, program.pk, enrolments[program.pk], tier_id))
            enrolments[program.pk] = tier_id
        return enrolments

    def _write(self, change: _BatchChange, partners: list[Partner]) -> None:
        Partner.objects.bulk_update(partners, sorted(change.fields))
        StatusChange.objects.bulk_create(change.status_changes)
        if change.retagged:
            through = Partner.tags.through
            through.objects.filter(partner_id__in=list(change.retagged)).delete()
            through.objects.bulk_create(
                [
                    through(partner_id=pk, tag_id=tag.pk)
                    for pk, tags in change.retagged.items()
                    for tag in tags
                ]
            )
        for (program_id, tier_id), partner_ids in change.tier_moves.items():
            PartnerProgram.objects.filter(partner_id__in=partner_ids, program_id=program_id).update(
                tier_id=tier_id, updated_at=change.now
            )
        PartnerProgram.objects.bulk_create(change.enrolments)
        tier_changes_record(
            workspace_id=self.actor.workspace_id, moves=change.history, actor_label=self.actor.label
        )
        AuditEntry.objects.bulk_create(change.entries)

    # --- shared -----------------------------------------------------------------------------------

    @contextmanager
    def _atomic(self) -> Iterator[None]:
        """A batch is written whole or not at all; the tags it created are forgotten if it is not."""
        try:
            with transaction.atomic():
                yield
        except BaseException:
            self.tags = _Tags(self.actor.workspace_id)
            raise

    def _cache_owners(self, partners: list[Partner], owner_ids: list[int] | None = None) -> None:
        """Load the owners the audit snapshots name (one query for those not loaded yet) and put them on
        the new partners, so that a snapshot reads no user row by row."""
        wanted = set(owner_ids or []) | {p.owner_id for p in partners if p.owner_id is not None}
        missing = wanted - self.users.keys()
        if missing:
            self.users.update(User.objects.in_bulk(list(missing)))
        for partner in partners:
            if partner.owner_id is not None and partner.owner_id in self.users:
                partner.owner = self.users[partner.owner_id]

    def _names(self, enrolments: Enrolments) -> None:
        """Load the programs and tiers ``enrolments`` name that the lookups do not hold (created since)."""
        programs = [pk for pk in enrolments if pk not in self.programs]
        tiers = [pk for pk in enrolments.values() if pk is not None and pk not in self.tiers]
        if programs:
            self.programs.update(Program.objects.in_bulk(programs))
        if tiers:
            self.tiers.update(Tier.objects.in_bulk(tiers))

    def _extra(self, tags: list[str], enrolments: Enrolments) -> dict[str, Any]:
        """What the services add to the audit snapshot (``services.partners.partner_audit_extra``): tag
        names sorted, and program name → tier name by program name."""
        self._names(enrolments)
        tiers = {}
        for program_id, tier_id in enrolments.items():
            tier = self.tiers.get(tier_id) if tier_id is not None else None
            tiers[self.programs[program_id].name] = tier.name if tier else None
        return {"tags": sorted(tags), "tiers": dict(sorted(tiers.items()))}

    def _audit(self, action: str, partner: Partner, changes: dict[str, Any]) -> AuditEntry:
        """The entry ``audit_record`` writes for the partner."""
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

    def _enrolment(self, partner: Partner, program: Program, tier: Tier | None) -> PartnerProgram:
        return PartnerProgram(
            workspace_id=self.actor.workspace_id, partner=partner, program=program, tier=tier
        )


class _BatchChange:
    """What one ``update`` batch writes, collected partner by partner."""

    def __init__(self, *, now: Any) -> None:
        self.now = now
        self.fields: set[str] = {"updated_at"}
        self.status_changes: list[StatusChange] = []
        self.retagged: dict[int, list[Tag]] = {}
        self.enrolments: list[PartnerProgram] = []
        self.tier_moves: dict[tuple[int, int | None], list[int]] = defaultdict(list)
        self.history: list[Move] = []  # every enrolment and tier move, for the tier history
        self.entries: list[AuditEntry] = []
