"""Balances by state per partner and currency (payout rows excluded: they record the money out). A
negative approved balance (after clawbacks) carries forward and is netted against later earnings."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from openprm.commissions.models import LedgerEntry
from openprm.core.actors import Actor
from openprm.core.permissions import Perm

STATES = ("pending", "approved", "paid")


def balances(*, actor: Actor, partner_id: int | None = None) -> dict[tuple[int, str], dict[str, Decimal]]:
    """``{(partner id, currency): {"pending": …, "approved": …, "paid": …}}`` for the actor's partners."""
    if not actor.is_partner_user:
        actor.require(Perm.COMMISSION_VIEW)
    rows = LedgerEntry.objects.exclude(kind=LedgerEntry.Kind.PAYOUT).filter(state__in=STATES)
    if partner_id is not None:
        rows = rows.filter(partner_id=partner_id)
    out: dict[tuple[int, str], dict[str, Decimal]] = defaultdict(
        lambda: dict.fromkeys(STATES, Decimal("0.00"))
    )
    for pid, ccy, state, total in (
        rows.values_list("partner_id", "currency", "state").annotate(total=Sum("amount")).order_by()
    ):
        out[(pid, ccy)][state] = Decimal(str(total or 0)).quantize(Decimal("0.01"))
    return dict(out)
