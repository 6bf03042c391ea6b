"""Scoped reads of accounts, changes, CSAT answers and usage months.

Every queryset goes through the scoped managers: partner users read their own partner's rows (and no
direct-channel answers), restricted staff their own partners'; others answer DoesNotExist (404)."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, FloatField, IntegerField, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.customers.filters import ACCOUNT_SORTS, AccountFilters, RecordFilters
from openprm.customers.models import (
    AccountChange,
    ChangeKind,
    CsatChannel,
    CsatResponse,
    CustomerAccount,
    UsageRecord,
)
from openprm.partners.models import Partner


def account_list(*, actor: Actor, filters: AccountFilters | None = None) -> QuerySet[CustomerAccount]:
    actor.require(Perm.PARTNER_VIEW)
    filters = filters or AccountFilters()
    queryset = CustomerAccount.objects.select_related("partner")
    if filters.q:
        queryset = queryset.filter(
            Q(name__icontains=filters.q) | Q(domain__icontains=filters.q) | Q(external_id=filters.q)
        )
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    if filters.status == "active":
        queryset = queryset.filter(ended_on__isnull=True)
    elif filters.status == "churned":
        queryset = queryset.filter(ended_on__isnull=False)
    return queryset.order_by(*ACCOUNT_SORTS.get(filters.sort, ACCOUNT_SORTS["name"]))


def account_summaries(*, actor: Actor, filters: AccountFilters | None = None) -> QuerySet[CustomerAccount]:
    """:func:`account_list` with what a partner reads next to each account (the portal's Customers page):
    ``last_renewal_on`` and ``renewals`` (its renewal changes), ``csat_average`` and ``csat_answers`` (its
    CSAT answers). One query: each figure is a correlated subquery, so no join multiplies the rows."""
    renewals = (
        AccountChange.objects.filter(account=OuterRef("pk"), kind=ChangeKind.RENEWAL)
        .order_by()
        .values("account")
    )
    answers = CsatResponse.objects.filter(account=OuterRef("pk")).order_by().values("account")

    def first(queryset: QuerySet[Any], output: Any) -> Subquery:
        return Subquery(queryset.values("figure")[:1], output_field=output)

    return account_list(actor=actor, filters=filters).annotate(
        last_renewal_on=first(
            renewals.annotate(figure=Max("occurred_on")), CustomerAccount._meta.get_field("started_on")
        ),
        renewals=Coalesce(first(renewals.annotate(figure=Count("id")), IntegerField()), 0),
        csat_average=first(answers.annotate(figure=Avg("score")), FloatField()),
        csat_answers=Coalesce(first(answers.annotate(figure=Count("id")), IntegerField()), 0),
    )


def account_get(*, actor: Actor, public_id: Any) -> CustomerAccount:
    """The account with this public id, or DoesNotExist when missing *or* out of scope."""
    actor.require(Perm.PARTNER_VIEW)
    return CustomerAccount.objects.select_related("partner").get(public_id=parse_uuid(str(public_id)))


def account_get_by_external_id(*, actor: Actor, external_id: str) -> CustomerAccount:
    actor.require(Perm.PARTNER_VIEW)
    return CustomerAccount.objects.select_related("partner").get(external_id=external_id)


def _records(queryset: QuerySet[Any], filters: RecordFilters | None) -> QuerySet[Any]:
    filters = filters or RecordFilters()
    if filters.account:
        queryset = queryset.filter(account__public_id=parse_uuid(filters.account))
    if filters.partner:
        queryset = queryset.filter(partner__public_id=parse_uuid(filters.partner))
    return queryset


def change_list(*, actor: Actor, filters: RecordFilters | None = None) -> QuerySet[AccountChange]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = _records(AccountChange.objects.select_related("account", "partner"), filters)
    if filters and filters.kind:
        queryset = queryset.filter(kind=filters.kind)
    return queryset.order_by("-occurred_on", "-id")


def change_get(*, actor: Actor, public_id: Any) -> AccountChange:
    actor.require(Perm.PARTNER_VIEW)
    return AccountChange.objects.select_related("account", "partner").get(
        public_id=parse_uuid(str(public_id))
    )


def csat_list(*, actor: Actor, filters: RecordFilters | None = None) -> QuerySet[CsatResponse]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = _records(CsatResponse.objects.select_related("account", "partner"), filters)
    if filters and filters.kind:
        queryset = queryset.filter(channel=filters.kind)
    return queryset.order_by("-answered_on", "-id")


def csat_get(*, actor: Actor, public_id: Any) -> CsatResponse:
    actor.require(Perm.PARTNER_VIEW)
    return CsatResponse.objects.select_related("account", "partner").get(public_id=parse_uuid(str(public_id)))


def csat_summary(*, actor: Actor) -> dict[str, dict[str, Any]]:
    """Answers and average score per channel the actor may see (``partner``, ``direct``)."""
    actor.require(Perm.PARTNER_VIEW)
    rows = CsatResponse.objects.order_by().values("channel").annotate(count=Count("id"), average=Avg("score"))
    found = {row["channel"]: {"count": row["count"], "average": row["average"]} for row in rows}
    return {channel: found.get(channel, {"count": 0, "average": None}) for channel in CsatChannel.values}


def usage_list(*, actor: Actor, filters: RecordFilters | None = None) -> QuerySet[UsageRecord]:
    actor.require(Perm.PARTNER_VIEW)
    return _records(UsageRecord.objects.select_related("account", "partner"), filters).order_by(
        "-month", "account__name", "-id"
    )


def usage_get(*, actor: Actor, public_id: Any) -> UsageRecord:
    actor.require(Perm.PARTNER_VIEW)
    return UsageRecord.objects.select_related("account", "partner").get(public_id=parse_uuid(str(public_id)))


def partner_choices(*, actor: Actor) -> list[tuple[str, str]]:
    """(public id, name) of the live partners the actor may see: the account form's choices."""
    actor.require(Perm.PARTNER_VIEW)
    rows = (
        Partner.objects.filter(archived_at__isnull=True)
        .order_by("name", "id")
        .values_list("public_id", "name")
    )
    return [(str(public_id), name) for public_id, name in rows]
