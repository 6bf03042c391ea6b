"""Reads of partners: the filtered list, one partner, its lifecycle and last contact, the reference data of
filters and forms, and the user's saved views. Every queryset goes through the scoped managers."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.models import DateField, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.partners.filters import PartnerFilters, partner_filter
from openprm.partners.models import (
    Agreement,
    AgreementStatus,
    CustomFieldDefinition,
    Partner,
    PartnerProgram,
    PartnerType,
    Program,
    SavedView,
    StatusChange,
    Tag,
    Tier,
)

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


def _live_agreements(today: datetime.date) -> QuerySet[Agreement]:
    return Agreement.objects.filter(
        partner=OuterRef("pk"),
        status__in=[AgreementStatus.ACTIVE, AgreementStatus.EXPIRING],
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today) | Q(auto_renew=True))


def partner_list(*, actor: Actor, filters: PartnerFilters | None = None) -> QuerySet[Partner]:
    """The partners the actor may see that match ``filters`` (by default: the live ones by name), with
    what the list shows prefetched and the last contact and agreement state annotated."""
    actor.require(Perm.PARTNER_VIEW)
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
    return partner_filter(queryset, actor=actor, filters=filters or PartnerFilters())


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


def reference_data(*, actor: Actor) -> dict[str, Any]:
    """Choices for filters and forms."""
    return {
        "types": list(PartnerType.objects.all()),
        "programs": list(Program.objects.all()),
        "tiers": list(Tier.objects.select_related("program")),
        "tags": list(Tag.objects.all()),
    }


def custom_field_list(*, actor: Actor) -> QuerySet[CustomFieldDefinition]:
    """The workspace's custom partner fields (by label): the partner form's extra fields."""
    return CustomFieldDefinition.objects.all()


def saved_view_list(*, actor: Actor) -> QuerySet[SavedView]:
    return SavedView.objects.filter(user_id=actor.user_id or 0)
