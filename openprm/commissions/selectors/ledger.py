"""Ledger reads: the scoped, filterable entry list (partner users see their own partner's entries only,
through the scoped manager), one entry, and an entry's explanation in words."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from openprm.commissions.models import LedgerEntry
from openprm.core.actors import Actor
from openprm.core.permissions import Perm


def _readable(actor: Actor) -> None:
    if not actor.is_partner_user:
        actor.require(Perm.COMMISSION_VIEW)


def entry_list(
    *,
    actor: Actor,
    partner_id: int | None = None,
    state: str | None = None,
    kind: str | None = None,
    start: datetime.date | None = None,
    end: datetime.date | None = None,
    hide_zero: bool = False,
) -> QuerySet[LedgerEntry]:
    """Entries newest first; ``start``/``end`` on the event's day (both included)."""
    _readable(actor)
    rows = LedgerEntry.objects.select_related("partner", "plan", "plan_version")
    if partner_id is not None:
        rows = rows.filter(partner_id=partner_id)
    if state:
        rows = rows.filter(state=state)
    if kind:
        rows = rows.filter(kind=kind)
    if start is not None:
        rows = rows.filter(
            occurred_at__gte=datetime.datetime.combine(start, datetime.time(), tzinfo=datetime.UTC)
        )
    if end is not None:
        rows = rows.filter(
            occurred_at__lt=datetime.datetime.combine(
                end + datetime.timedelta(days=1), datetime.time(), tzinfo=datetime.UTC
            )
        )
    if hide_zero:
        rows = rows.exclude(amount=0)
    return rows.order_by("-occurred_at", "-id")


def entry_get(*, actor: Actor, public_id: uuid.UUID | str) -> LedgerEntry:
    _readable(actor)
    try:
        return LedgerEntry.objects.select_related("partner", "plan", "plan_version", "reverses").get(
            public_id=public_id
        )
    except (LedgerEntry.DoesNotExist, ValueError, TypeError):
        raise Http404("No such entry") from None


def explanation_lines(entry: LedgerEntry) -> list[str]:
    """The stored explanation in sentences: each rule matched or why not, the lines, the caps, FX."""
    data: dict[str, Any] = entry.explanation or {}
    out: list[str] = []
    if "detail" in data and "rules" not in data:
        out.append(str(data["detail"]))
    for rule in data.get("rules", []):
        if rule.get("ok"):
            out.append(f"Rule {rule['rule']}: conditions met.")
        else:
            out.append(f"Rule {rule['rule']} did not apply: " + "; ".join(rule.get("why", [])) + ".")
    for line in data.get("lines", []):
        out.append(f"{line['rule']}: {line['detail']} = {line['amount']} {entry.currency}.")
        for cap in line.get("caps", []):
            out.append(f"Capped ({cap['cap'].replace('_', ' ')} {cap['limit']}): {cap['trimmed']} trimmed.")
    if "why" in data:
        out.append(str(data["why"]) + ".")
    if not data.get("lines") and "rules" in data and not entry.amount:
        out.append("Nothing earned.")
    fx = data.get("fx")
    if fx:
        out.append(f"Converted from {fx['from']} at {fx['rate']} (rate of {fx['date']}).")
    return out


def waiting_reasons(*, actor: Actor, source_kind: str, source_id: int) -> list[str]:
    """Why the accrual has not evaluated a source yet, when it is waiting (for an exchange rate)."""
    from openprm.commissions.models import AccrualWaiting

    if actor.is_partner_user:
        return []
    found = AccrualWaiting.objects.filter(source_kind=source_kind, source_id=source_id).first()
    if found is None:
        return []
    return [
        f"Not accrued yet: {found.reason} (since {found.since:%d %b %Y %H:%M}). It is accrued as soon as "
        "the rate is imported."
    ]
