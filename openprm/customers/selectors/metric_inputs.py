"""The customers app as a source of the metric engine: named inputs per partner over a period.

``metric_inputs`` answers one dict per partner that has any value, plus key 0 (TOTAL, over all the
partners asked about), for the input names asked; each family costs one GROUP BY query over indexed
columns (never a scan of every account per partner). ``input_availability`` names the inputs the
workspace has any data for (a metric needing another one reads "no data", not 0).

The period is ``start``..``end``, whole days, both included. An account is a customer from its
``started_on`` until the day before its ``ended_on`` (the churn date):

- ``accounts.at_start``: customers when the period opens (started before ``start``, not ended before it);
- ``accounts.retained``: of those, still customers when it closes (not ended by ``end``);
- ``accounts.new``: started within the period; ``accounts.churned``: ended within it;
- ``accounts.active_end``: customers when the period closes (at_start + new - churned = active_end);
- ``renewals.count``/``.amount``; ``upsells.count``/``.amount`` (upsells and cross-sells);
  ``accounts.upsold``: accounts with an upsell or cross-sell in the period;
- ``csat.sum``/``.count``: partner-channel answers, by the answering account's managing partner;
  ``csat.direct.sum``/``.count``: the direct-channel baseline of the workspace (no partner): under key 0
  and repeated for every partner asked about, so a per-partner formula can compare with it;
- ``usage.features_used``/``.features_available``: sums over the months overlapping the period (a usage
  month is its first day: every month from the one holding ``start`` up to ``end``);
  ``usage.active_users``: each account's latest reported month among those, summed.

Rows are read across access scopes (``unscoped``, filtered by workspace and partner ids): the engine
decides which partners a caller may ask about.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection, Iterable
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from openprm.core.scoping import unscoped
from openprm.customers.models import (
    AccountChange,
    ChangeKind,
    CsatChannel,
    CsatResponse,
    CustomerAccount,
    UsageRecord,
)

InputValue = Decimal | int | float | None
Inputs = dict[int, dict[str, InputValue]]
TOTAL = 0

ACCOUNT_INPUTS = (
    "accounts.at_start",
    "accounts.retained",
    "accounts.new",
    "accounts.churned",
    "accounts.active_end",
)
CHANGE_INPUTS = ("renewals.count", "renewals.amount", "upsells.count", "upsells.amount", "accounts.upsold")
CSAT_INPUTS = ("csat.sum", "csat.count")
CSAT_DIRECT_INPUTS = ("csat.direct.sum", "csat.direct.count")
USAGE_INPUTS = ("usage.features_used", "usage.features_available", "usage.active_users")

FAMILIES: dict[str, tuple[str, ...]] = {
    "accounts": ACCOUNT_INPUTS,
    "changes": CHANGE_INPUTS,
    "csat": CSAT_INPUTS,
    "csat.direct": CSAT_DIRECT_INPUTS,
    "usage": USAGE_INPUTS,
}
"""Input families: each is available as a whole once the workspace has any row of it."""

INPUT_NAMES: frozenset[str] = frozenset(name for names in FAMILIES.values() for name in names)
AMOUNT_INPUTS = frozenset({"renewals.amount", "upsells.amount"})
UPSELL_KINDS = (ChangeKind.UPSELL, ChangeKind.CROSS_SELL)
ZERO = Decimal("0.00")
FEW_PARTNERS = 50
"""Up to this many partners the queries filter by partner id; for more (a program's table, 2,000 partners)
they group the whole workspace and drop the other partners here: a long ``IN`` list costs more to plan
and to test per row than the few groups it saves."""


def _wanted(names: Collection[str], family: Iterable[str]) -> list[str]:
    return [name for name in family if name in names]


def _fold(out: Inputs, rows: Iterable[dict[str, Any]], wanted: list[str], asked: set[int]) -> None:
    """Per-partner rows (``partner_id`` + one column per input) of the ``asked`` partners into ``out``,
    adding the totals."""
    total = out.setdefault(TOTAL, {})
    for row in rows:
        if row["partner_id"] not in asked:
            continue
        values = out.setdefault(row["partner_id"], {})
        for name in wanted:
            value = row[name]
            if value is None:
                value = ZERO if name in AMOUNT_INPUTS else 0
            values[name] = value
            total[name] = total.get(name, 0) + value


def _partners(partner_ids: Collection[int]) -> dict[str, Any]:
    """The partner filter of a query: by id for a few partners, none for many (``FEW_PARTNERS``)."""
    return {"partner_id__in": partner_ids} if len(partner_ids) <= FEW_PARTNERS else {}


def _zero_totals(out: Inputs, wanted: list[str]) -> None:
    total = out.setdefault(TOTAL, {})
    for name in wanted:
        total.setdefault(name, ZERO if name in AMOUNT_INPUTS else 0)


def _account_rows(
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    wanted: list[str],
) -> QuerySet[Any, dict[str, Any]]:
    not_ended_by_start = Q(ended_on__isnull=True) | Q(ended_on__gte=start)
    not_ended_by_end = Q(ended_on__isnull=True) | Q(ended_on__gt=end)
    at_start = Q(started_on__lt=start) & not_ended_by_start
    counts = {
        "accounts.at_start": Count("id", filter=at_start),
        "accounts.retained": Count("id", filter=at_start & not_ended_by_end),
        "accounts.new": Count("id", filter=Q(started_on__gte=start)),
        "accounts.churned": Count("id", filter=Q(ended_on__isnull=False, ended_on__lte=end)),
        "accounts.active_end": Count("id", filter=not_ended_by_end),
    }
    # every account any input counts was a customer on some day of the period
    return (
        CustomerAccount.objects.filter(
            not_ended_by_start, workspace_id=workspace_id, started_on__lte=end, **_partners(partner_ids)
        )
        .order_by()
        .values("partner_id")
        .annotate(**{name: counts[name] for name in wanted})
    )


def _change_rows(
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    wanted: list[str],
) -> QuerySet[Any, dict[str, Any]]:
    renewal = Q(kind=ChangeKind.RENEWAL)
    upsell = Q(kind__in=UPSELL_KINDS)
    aggregates = {
        "renewals.count": Count("id", filter=renewal),
        "renewals.amount": Sum("amount", filter=renewal),
        "upsells.count": Count("id", filter=upsell),
        "upsells.amount": Sum("amount", filter=upsell),
        "accounts.upsold": Count("account_id", filter=upsell, distinct=True),
    }
    return (
        AccountChange.objects.filter(
            workspace_id=workspace_id,
            occurred_on__gte=start,
            occurred_on__lte=end,
            kind__in=[ChangeKind.RENEWAL, *UPSELL_KINDS],
            **_partners(partner_ids),
        )
        .order_by()
        .values("partner_id")
        .annotate(**{name: aggregates[name] for name in wanted})
    )


def _csat_rows(
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    wanted: list[str],
) -> QuerySet[Any, dict[str, Any]]:
    aggregates = {"csat.sum": Sum("score"), "csat.count": Count("id")}
    return (
        CsatResponse.objects.filter(
            workspace_id=workspace_id,
            channel=CsatChannel.PARTNER,
            answered_on__gte=start,
            answered_on__lte=end,
            **_partners(partner_ids),
        )
        .order_by()
        .values("partner_id")
        .annotate(**{name: aggregates[name] for name in wanted})
    )


def _csat_direct(workspace_id: int, start: datetime.date, end: datetime.date) -> dict[str, int]:
    found = CsatResponse.objects.filter(
        workspace_id=workspace_id, channel=CsatChannel.DIRECT, answered_on__gte=start, answered_on__lte=end
    ).aggregate(total=Coalesce(Sum("score"), 0), count=Count("id"))
    return {"csat.direct.sum": int(found["total"]), "csat.direct.count": int(found["count"])}


def _usage_rows(
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    wanted: list[str],
) -> list[dict[str, Any]]:
    """Sums over the usage months overlapping the period, and the active users of each account's latest
    month among them: one GROUP BY over the months joined to each account's latest (a correlated
    subquery per row cost seconds at 240,000 months)."""
    table = connection.ops.quote_name(UsageRecord._meta.db_table)
    months: list[Any] = [workspace_id, start.replace(day=1), end]
    only, only_u, ids = "", "", list(_partners(partner_ids).get("partner_id__in", []))
    if ids:
        marks = ", ".join(["%s"] * len(ids))
        only, only_u = f" AND partner_id IN ({marks})", f" AND u.partner_id IN ({marks})"
    sql = (
        "SELECT u.partner_id, SUM(u.features_used), SUM(u.features_available),"  # noqa: S608 - model names
        " SUM(CASE WHEN u.month = l.latest THEN u.active_users ELSE 0 END)"
        f" FROM {table} u JOIN (SELECT account_id, MAX(month) AS latest FROM {table}"
        f" WHERE workspace_id = %s AND month >= %s AND month <= %s{only} GROUP BY account_id) l"
        " ON l.account_id = u.account_id"
        f" WHERE u.workspace_id = %s AND u.month >= %s AND u.month <= %s{only_u}"
        " GROUP BY u.partner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*months, *ids, *months, *ids])
        rows = cursor.fetchall()
    names = ("usage.features_used", "usage.features_available", "usage.active_users")
    return [
        {
            "partner_id": partner_id,
            **{name: int(value or 0) for name, value in zip(names, values, strict=True)},
        }
        for partner_id, *values in rows
    ]


def metric_inputs(
    workspace_id: int,
    *,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
) -> Inputs:
    """The named inputs per partner id (only partners with a value) and under key 0 (TOTAL) for the
    period ``start``..``end`` (whole days, both included); names this source does not know are ignored."""
    names = set(names) & INPUT_NAMES
    out: Inputs = {TOTAL: {}}
    partner_ids = [pk for pk in dict.fromkeys(partner_ids) if pk != TOTAL]
    asked = set(partner_ids)
    if not names or end < start:
        return out
    with unscoped():
        for family, reader in (
            (ACCOUNT_INPUTS, _account_rows),
            (CHANGE_INPUTS, _change_rows),
            (CSAT_INPUTS, _csat_rows),
            (USAGE_INPUTS, _usage_rows),
        ):
            wanted = _wanted(names, family)
            if wanted:
                if partner_ids:
                    _fold(out, reader(workspace_id, partner_ids, start, end, wanted), wanted, asked)
                _zero_totals(out, wanted)
        wanted = _wanted(names, CSAT_DIRECT_INPUTS)
        if wanted:
            direct = _csat_direct(workspace_id, start, end)
            for name in wanted:
                out[TOTAL][name] = direct[name]
                for partner_id in partner_ids:
                    out.setdefault(partner_id, {})[name] = direct[name]
    return out


def input_availability(workspace_id: int) -> set[str]:
    """The input names of every family the workspace has any row of."""
    with unscoped():
        present = {
            "accounts": CustomerAccount.objects.filter(workspace_id=workspace_id).exists(),
            "changes": AccountChange.objects.filter(workspace_id=workspace_id).exists(),
            "csat": CsatResponse.objects.filter(
                workspace_id=workspace_id, channel=CsatChannel.PARTNER
            ).exists(),
            "csat.direct": CsatResponse.objects.filter(
                workspace_id=workspace_id, channel=CsatChannel.DIRECT
            ).exists(),
            "usage": UsageRecord.objects.filter(workspace_id=workspace_id).exists(),
        }
    return {name for family, found in present.items() if found for name in FAMILIES[family]}
