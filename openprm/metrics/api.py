"""Metrics over HTTP: a partner's engagement in a period and a program's active-partner share.

Paths and operation ids are those the endpoints had in the activity API, so clients see no change."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router

from openprm.core.api import ERRORS, request_actor
from openprm.metrics import formulas, selectors
from openprm.metrics.schemas import ActiveShareOut, ActiveShareQuery, EngagementOut, EngagementQuery
from openprm.partners import selectors as partner_selectors

router = Router(tags=["engagement"])

EARLIEST, LATEST = datetime.date(1900, 1, 1), datetime.date(9000, 1, 1)
DEFAULT_DAYS = 90
MAX_DAYS = 3660


def _today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def _period(query: EngagementQuery) -> formulas.Period:
    """The asked period (default: the 90 days to today), or a 422 naming the bad bound."""
    end = query.end or _today()
    start = query.start or max(end, datetime.date(1900, 4, 1)) - datetime.timedelta(days=DEFAULT_DAYS - 1)
    for key, day in (("start", start), ("end", end)):
        if not EARLIEST <= day <= LATEST:
            raise ValidationError({key: "Give a day between 1900 and 9000."})
    if start > end:
        raise ValidationError({"start": "The period must start on or before its end."})
    if (end - start).days > MAX_DAYS:
        raise ValidationError({"start": "A period is at most ten years long."})
    return formulas.Period(start, end)


@router.get(
    "/partners/{public_id}/engagement",
    response={200: EngagementOut, **ERRORS},
    tags=["engagement"],
    operation_id="openprm_activity_api_engagement_partner_engagement",
)
def partner_engagement(
    request: HttpRequest, public_id: uuid.UUID, query: Query[EngagementQuery]
) -> dict[str, Any]:
    """A partner's engagement in a period, from the daily rollups."""
    actor = request_actor(request)
    partner = partner_selectors.partner_get(actor=actor, public_id=public_id)
    period = _period(query)
    found = selectors.partner_engagement(actor=actor, partner=partner, period=period)
    values = {k: v for k, v in vars(found.metrics).items() if k != "period"}
    return {
        "partner": partner.public_id,
        "start": period.start,
        "end": period.end,
        **values,
        "weekly_activity": found.weekly,
    }


@router.get(
    "/programs/{public_id}/active-partners",
    response={200: ActiveShareOut, **ERRORS},
    tags=["engagement"],
    operation_id="openprm_activity_api_engagement_program_active_partners",
)
def program_active_partners(
    request: HttpRequest, public_id: uuid.UUID, filters: Query[ActiveShareQuery]
) -> ActiveShareOut:
    """Staff: the program's active-partner share, from the daily rollups."""
    actor = request_actor(request)
    if actor.is_partner_user:
        raise Http404
    program = partner_selectors.program_get(actor=actor, public_id=public_id)
    found = selectors.active_partner_share(
        actor=actor, program=program, as_of=filters.as_of or _today(), window_days=filters.window_days
    )
    return ActiveShareOut(
        program=program.public_id,
        as_of=found.as_of,
        window_days=found.window_days,
        active=found.active,
        total=found.total,
        share=found.share,
    )
