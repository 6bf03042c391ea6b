"""Helpers the deals pages share: a deal or 404, and the per-row figures rows and cards show."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import Http404, HttpRequest

from openprm.core.http import actor_of
from openprm.deals import selectors
from openprm.deals.models import Deal


def deal_or_404(request: HttpRequest, public_id: Any) -> Deal:
    """The deal, or 404 when missing or out of the actor's scope (the same answer)."""
    try:
        return selectors.deal_get(actor=actor_of(request), public_id=public_id)
    except Deal.DoesNotExist:
        raise Http404 from None


def decorate(deals: Any, now: datetime.datetime) -> list[Deal]:
    """Attach what the rows and cards show (days in stage, stalled) without extra queries."""
    rows = list(deals)
    for deal in rows:
        deal.days_in_stage = deal.calendar_days_in_stage(now)
        deal.stalled = deal.is_stalled(now)
    return rows
