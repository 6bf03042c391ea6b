"""Reads for the partner database; every queryset goes through the scoped managers."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from django.conf import settings
from django.db.models import Count, DateField, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    Contact,
    Partner,
    PartnerProgram,
    PartnerType,
    Program,
    SavedView,
    StatusChange,
    Tag,
    Tier,
)

ARCHIVED_CHOICES = [("only", "Archived only"), ("all", "Live and archived")]
CONTRACT_CHOICES = [
    ("active", "Active agreement"),
    ("expiring", "Expiring soon"),
    ("expired", "Expired"),
    ("none", "No agreement"),
]
SORTS = {
    "name": "name",
    "-name": "-name",
    "status": "status",
    "-status": "-status",
    "country": "country",
    "-country": "-country",
    "created": "created_at",
    "-created": "-created_at",
    "last_contact": "last_contact_on",
    "-last_contact": "-last_contact_on",
}


# The last contact comes from the activity app, which depends on this one (not the reverse): it registers
# the expression in its AppConfig.ready(). Without it, partners have no last contact.
LastContact = Callable[[], Any]
_last_contact_sources: list[LastContact] = []


def last_contact_register(source: LastContact) -> None:
    """Set where partner lists read the last-contact day from: a callable giving an expression (e.g. a
    ``Subquery``) over ``OuterRef("pk")`` that yields a date."""
    _last_contact_sources[:] = [source]


def _last_contact() -> Any:
    if _last_contact_sources:
        return _last_contact_sources[0]()
    return Value(None, output_field=DateField())


@dataclass
class PartnerFilters:
    q: str = ""
    type: str = ""
    program: str = ""  # program public id
    tier: str = ""  # tier public id
    status: str = ""
    country: str = ""
    region: str = ""
    contract: str = ""
    owner: str = ""  # user public id, "me" or "none"
    tag: str = ""
    archived: str = ""  # "": live partners only; "only": the archived ones; "all": both
    sort: str = "name"

    @classmethod
    def from_mapping(cls, data: Any) -> PartnerFilters:
        values = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if raw:
                values[f.name] = str(raw).replace("\x00", "").strip()[:200]
        return cls(**values)


def _live_agreements(today: datetime.date) -> QuerySet[Agreement]:
    return Agreement.objects.filter(
        partner=OuterRef("pk"),
        status__in=[AgreementStatus.ACTIVE, AgreementStatus.EXPIRING],
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today) | Q(auto_renew=True))


def partner_list(*, actor: Actor, filters: PartnerFilters | None = None) -> QuerySet[Partner]:
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or PartnerFilters()
    today = timezone.localdate()
    soon = today + datetime.timedelta(days=settings.PRM_EXPIRING_DAYS)
    queryset = (
        Partner.objects.select_related("type", "owner")
        .prefetch_related(
            "tags",
            Prefetch("enrolments", queryset=PartnerProgram.objects.select_related("program", "tier")),
        )
        .annotate(
            last_contact_on=_last_contact(),
            has_live_agreement=Exists(_live_agreements(today)),
            has_expiring_agreement=Exists(
                _live_agreements(today).filter(end_date__lte=soon, end_date__gte=today, auto_renew=False)
            ),
        )
    )
    if filters.archived == "only":
        queryset = queryset.filter(archived_at__isnull=False)
    elif filters.archived != "all":  # the default: archived partners are hidden (partial index)
        queryset = queryset.filter(archived_at__isnull=True)
    if filters.q:
        queryset = queryset.filter(
            Q(name__icontains=filters.q)
            | Q(legal_name__icontains=filters.q)
            | Q(external_id__iexact=filters.q)
            | Q(domains__icontains=filters.q)
        )
    if filters.type:
        queryset = queryset.filter(type__key=filters.type)
    if filters.program:
        queryset = queryset.filter(enrolments__program__public_id=parse_uuid(filters.program))
    if filters.tier:
        queryset = queryset.filter(enrolments__tier__public_id=parse_uuid(filters.tier))
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.country:
        queryset = queryset.filter(country=filters.country.upper())
    if filters.region:
        queryset = queryset.filter(region__iexact=filters.region)
    if filters.contract == "active":
        queryset = queryset.filter(has_live_agreement=True)
    elif filters.contract == "expiring":
        queryset = queryset.filter(has_expiring_agreement=True)
    elif filters.contract == "expired":
        queryset = queryset.filter(has_live_agreement=False).filter(
            Exists(Agreement.objects.filter(partner=OuterRef("pk")))
        )
    elif filters.contract == "none":
        queryset = queryset.filter(~Exists(Agreement.objects.filter(partner=OuterRef("pk"))))
    if filters.owner == "me":
        queryset = queryset.filter(owner_id=actor.user_id)
    elif filters.owner == "none":
        queryset = queryset.filter(owner__isnull=True)
    elif filters.owner:
        queryset = queryset.filter(owner__public_id=parse_uuid(filters.owner))
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    order = SORTS.get(filters.sort, "name")
    if order.lstrip("-") == "last_contact_on":
        epoch = Value(datetime.date(1970, 1, 1), output_field=DateField())
        queryset = queryset.annotate(last_contact_sort=Coalesce("last_contact_on", epoch))
        order = order.replace("last_contact_on", "last_contact_sort")
    return queryset.order_by(order, "id").distinct()


def partner_get(*, actor: Actor, public_id: Any) -> Partner:
    """The partner with this public id, or Partner.DoesNotExist when missing *or* out of scope."""
    actor.require(Perm.PARTNER_VIEW)
    return (
        Partner.objects.select_related("type", "owner")
        .prefetch_related(
            "tags", Prefetch("enrolments", queryset=PartnerProgram.objects.select_related("program", "tier"))
        )
        .get(public_id=parse_uuid(str(public_id)))
    )


def partner_get_own(*, actor: Actor) -> Partner | None:
    """The partner a partner user belongs to; None for staff."""
    if actor.partner_id is None:
        return None
    return Partner.objects.get(pk=actor.partner_id)


def contact_list(*, actor: Actor, partner: Partner | None = None) -> QuerySet[Contact]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = Contact.objects.select_related("partner")
    return queryset.filter(partner=partner) if partner is not None else queryset


def contact_get(*, actor: Actor, public_id: Any) -> Contact:
    actor.require(Perm.PARTNER_VIEW)
    return Contact.objects.select_related("partner").get(public_id=parse_uuid(str(public_id)))


def agreement_list(*, actor: Actor, partner: Partner | None = None) -> QuerySet[Agreement]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = Agreement.objects.select_related("partner")
    return queryset.filter(partner=partner) if partner is not None else queryset


def agreement_get(*, actor: Actor, public_id: Any) -> Agreement:
    actor.require(Perm.PARTNER_VIEW)
    return Agreement.objects.select_related("partner").get(public_id=parse_uuid(str(public_id)))


def agreements_expiring(*, actor: Actor, within_days: int) -> QuerySet[Agreement]:
    today = timezone.localdate()
    return (
        agreement_list(actor=actor)
        .filter(
            status__in=[AgreementStatus.ACTIVE, AgreementStatus.EXPIRING],
            auto_renew=False,
            end_date__gte=today,
            end_date__lte=today + datetime.timedelta(days=within_days),
        )
        .order_by("end_date")
    )


def last_contact_on(*, partner: Partner) -> datetime.date | None:
    """The day of the partner's last contact in either direction (None: never, or not tracked)."""
    day: datetime.date | None = (
        Partner.objects.filter(pk=partner.pk)
        .annotate(day=_last_contact())
        .values_list("day", flat=True)
        .first()
    )
    return day


def status_history(*, actor: Actor, partner: Partner) -> QuerySet[StatusChange]:
    actor.require(Perm.PARTNER_VIEW)
    return StatusChange.objects.filter(partner=partner)


def audit_list(*, actor: Actor, partner: Partner) -> QuerySet[AuditEntry]:
    """Every change recorded for the partner and its contacts, agreements and logged interactions."""
    actor.require(Perm.PARTNER_VIEW)
    return AuditEntry.objects.filter(partner_id=partner.pk).order_by("-at", "-id")


@dataclass(frozen=True)
class HistoryItem:
    """One line of a partner's history panel: an audited change, or a lifecycle change without one."""

    at: datetime.datetime
    actor_label: str
    action: str  # create, update, delete, or lifecycle
    what: str  # e.g. "Updated partner", "Lifecycle change"
    object_repr: str
    changes: dict[str, Any]


def _moment_text(value: Any) -> Any:
    """An ISO date-time string as people read it (local time, to the minute); anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%Y-%m-%d %H:%M")
    return value


# A status change and the audit entry its service wrote in the same transaction are seconds apart at most.
_SAME_CHANGE = datetime.timedelta(seconds=5)


def partner_history(*, actor: Actor, partner: Partner) -> list[HistoryItem]:
    """The partner's history, newest first: every audited change of it and its contacts, agreements, ...,
    plus each lifecycle (status) change that no audit entry records (demo data, bulk imports), so the
    panel shows what the lifecycle list shows. Two queries."""
    actor.require(Perm.PARTNER_VIEW)
    entries = list(audit_list(actor=actor, partner=partner))
    partner_type = Partner._meta.label_lower
    audited = [
        (entry.at, entry.changes["status"].get("after"))
        for entry in entries
        if entry.object_type == partner_type and "status" in entry.changes
    ]
    labels = dict(StatusChange._meta.get_field("to_status").choices or [])

    def readable(entry: AuditEntry) -> dict[str, Any]:
        """Status values in words, as the lifecycle list writes them; moments to the minute."""
        changes: dict[str, Any] = {}
        for field, change in entry.changes.items():
            if isinstance(change, dict):
                change = {k: _moment_text(v) for k, v in change.items()}
                if field == "status" and entry.object_type == partner_type:
                    change = {k: labels.get(v, v) if isinstance(v, str) else v for k, v in change.items()}
            changes[field] = change
        return changes

    items = [
        HistoryItem(
            at=entry.at,
            actor_label=entry.actor_label,
            action=entry.action,
            what=f"{entry.get_action_display()} {entry.object_type.rsplit('.', 1)[-1]}",
            object_repr=entry.object_repr,
            changes=readable(entry),
        )
        for entry in entries
    ]
    for change in status_history(actor=actor, partner=partner):
        if any(
            after == change.to_status and abs(at - change.changed_at) <= _SAME_CHANGE for at, after in audited
        ):
            continue
        items.append(
            HistoryItem(
                at=change.changed_at,
                actor_label=change.actor_label,
                action="lifecycle",
                what="Lifecycle change" if change.from_status else "Lifecycle start",
                object_repr=partner.name,
                changes={
                    "status": {
                        "before": labels.get(change.from_status) if change.from_status else None,
                        "after": labels.get(change.to_status, change.to_status),
                    }
                },
            )
        )
    items.sort(key=lambda item: item.at, reverse=True)
    return items


def reference_data(*, actor: Actor) -> dict[str, Any]:
    """Choices for filters and forms."""
    return {
        "types": list(PartnerType.objects.all()),
        "programs": list(Program.objects.all()),
        "tiers": list(Tier.objects.select_related("program")),
        "tags": list(Tag.objects.all()),
    }


def saved_view_list(*, actor: Actor) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user_id=actor.user_id or 0)


def program_list(*, actor: Actor) -> QuerySet[Program]:
    actor.require(Perm.PARTNER_VIEW)
    return Program.objects.prefetch_related("tiers").order_by("-is_default", "name", "id")


def tier_get(*, actor: Actor, public_id: Any) -> Tier:
    """The workspace's tier with this public id (Tier.DoesNotExist when missing or elsewhere)."""
    actor.require(Perm.PARTNER_VIEW)
    return Tier.objects.select_related("program").get(public_id=parse_uuid(str(public_id)))


def program_get(*, actor: Actor, public_id: Any) -> Program:
    """The workspace's program with this public id (Program.DoesNotExist when missing or elsewhere)."""
    actor.require(Perm.PARTNER_VIEW)
    return Program.objects.prefetch_related("tiers").get(public_id=parse_uuid(str(public_id)))


@dataclass(frozen=True)
class ProgramTiers:
    tiers: list[tuple[Tier, int]]  # the program's tiers, lowest first, with their enrolled partners
    without_tier: int  # enrolled partners with no tier
    total: int  # enrolled partners (those the actor may see)


def program_tiers(*, actor: Actor, program: Program) -> ProgramTiers:
    """The program's tiers and how many of the actor's visible, live (not archived) partners are enrolled in
    each (2 queries)."""
    actor.require(Perm.PARTNER_VIEW)
    counts: dict[int | None, int] = dict(
        PartnerProgram.objects.filter(program=program, partner__archived_at__isnull=True)
        .order_by()
        .values("tier_id")
        .annotate(n=Count("id"))
        .values_list("tier_id", "n")
    )
    tiers = list(Tier.objects.filter(program=program).order_by("rank", "name"))
    return ProgramTiers(
        tiers=[(tier, counts.get(tier.pk, 0)) for tier in tiers],
        without_tier=counts.get(None, 0),
        total=sum(counts.values()),
    )
