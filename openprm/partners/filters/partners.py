"""The partner list's filters and sort orders, shared by the list page, the API and the CSV export.

``PartnerFilters`` is what a caller asks for (parsed from a query string or an API query schema);
``partner_filter`` narrows and orders a queryset the selectors annotated (see ``ANNOTATIONS``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, fields
from typing import Any

from django.db.models import DateField, Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from openprm.core.actors import Actor
from openprm.core.filters import owner_filter
from openprm.core.ids import parse_uuid
from openprm.partners.models import Agreement, Partner

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
ANNOTATIONS = ("last_contact_on", "has_live_agreement", "has_expiring_agreement")
"""What ``partner_filter`` expects on the queryset: the selectors' ``partner_list`` annotates them."""


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


def partner_filter(
    queryset: QuerySet[Partner], *, actor: Actor, filters: PartnerFilters
) -> QuerySet[Partner]:
    """The partners matching ``filters``, in their sort order (ties by id), each once."""
    queryset = _archived(queryset, filters.archived)
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
    queryset = _contract(queryset, filters.contract)
    queryset = owner_filter(queryset, filters.owner, actor)
    if filters.tag:
        queryset = queryset.filter(tags__name=filters.tag)
    return _sorted(queryset, filters.sort).distinct()


def _archived(queryset: QuerySet[Partner], archived: str) -> QuerySet[Partner]:
    if archived == "only":
        return queryset.filter(archived_at__isnull=False)
    if archived != "all":  # the default: archived partners are hidden (partial index)
        return queryset.filter(archived_at__isnull=True)
    return queryset


def _contract(queryset: QuerySet[Partner], contract: str) -> QuerySet[Partner]:
    # Q(...): the names are the selectors' annotations (ANNOTATIONS), which the type checker cannot see.
    any_agreement = Exists(Agreement.objects.filter(partner=OuterRef("pk")))
    if contract == "active":
        return queryset.filter(Q(has_live_agreement=True))
    if contract == "expiring":
        return queryset.filter(Q(has_expiring_agreement=True))
    if contract == "expired":
        return queryset.filter(Q(has_live_agreement=False)).filter(any_agreement)
    if contract == "none":
        return queryset.filter(~any_agreement)
    return queryset


def _sorted(queryset: QuerySet[Partner], sort: str) -> QuerySet[Partner]:
    order = SORTS.get(sort, "name")
    if order.lstrip("-") == "last_contact_on":  # never contacted: as if on 1970-01-01
        epoch = Value(datetime.date(1970, 1, 1), output_field=DateField())
        queryset = queryset.annotate(last_contact_sort=Coalesce("last_contact_on", epoch))
        order = order.replace("last_contact_on", "last_contact_sort")
    return queryset.order_by(order, "id")
