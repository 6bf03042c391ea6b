"""Metrics over HTTP: a partner's engagement in a period and a program's active-partner share.

Paths and operation ids are those the endpoints had in the activity API, so clients see no change."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router, Status
from ninja.pagination import paginate

from openprm.core.actors import Actor
from openprm.core.api import ERRORS, request_actor
from openprm.core.schemas import Pagination
from openprm.finance.selectors import sellthrough_by_region
from openprm.metrics import closing, engine, figures, formulas, glossary, selectors, services
from openprm.metrics.catalog import UnknownMetricError
from openprm.metrics.models import PeriodClose
from openprm.metrics.parameters import parameter_overview, version_out
from openprm.metrics.periods import Grain, Period, parse_period
from openprm.metrics.schemas import (
    ActiveShareOut,
    ActiveShareQuery,
    CatalogEntryOut,
    EngagementOut,
    EngagementQuery,
    ParameterIn,
    ParameterOut,
    ParameterVersionOut,
    PeriodCloseIn,
    PeriodCloseOut,
    PeriodReopenIn,
    RegionOut,
    SeriesOut,
    SeriesQuery,
)
from openprm.partners import selectors as partner_selectors
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner

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


# --------------------------------------------------------------------------------------------- catalog

TAGS = ["metrics"]
MAX_METRICS = 20
MAX_PERIODS = 400
MAX_PARTNERS = 200


@router.get("/metrics/catalog", tags=TAGS, response={200: list[CatalogEntryOut], **ERRORS})
def metric_catalog(request: HttpRequest) -> list[dict[str, Any]]:
    """Every metric of the catalog: definition, formula, unit, direction, leading or lagging, family and
    packs, the data it needs, and whether the engine computes it (else where it is shown)."""
    request_actor(request)
    return [
        {
            "key": e.key,
            "label": e.metric.label,
            "definition": e.metric.definition,
            "formula": e.metric.formula,
            "unit": e.metric.unit.value,
            "direction": e.metric.direction.value,
            "indicator": e.metric.indicator.value if e.metric.indicator else None,
            "category": e.metric.category.value,
            "family": e.metric.families[0].value,
            "packs": [p.value for p in e.metric.packs],
            "needs": e.needs,
            "computed": e.computed,
            "shown_on": e.metric.shown_on,
            "staff_only": figures.staff_only(e.key),
            "glossary_url": f"{reverse('metrics:glossary')}#{e.key}",
        }
        for e in glossary.entries()
    ]


def _periods(query: SeriesQuery) -> list[Period]:
    try:
        period = parse_period(query.period) if query.period else Period.month_of(_today())
    except ValueError as error:
        raise ValidationError({"period": str(error)}) from None
    if not query.grain:
        return [period]
    if query.grain not in {g.value for g in Grain} - {Grain.CUSTOM.value}:
        raise ValidationError({"grain": "Give day, week, month, quarter or year."})
    if period.days > MAX_PERIODS * {"day": 1, "week": 7}.get(query.grain, 28):
        raise ValidationError({"grain": f"At most {MAX_PERIODS} periods: choose a longer grain."})
    found = period.split(query.grain)
    if len(found) > MAX_PERIODS:
        raise ValidationError({"grain": f"At most {MAX_PERIODS} periods: choose a longer grain."})
    return found


def _keys(text: str) -> list[str]:
    keys = list(dict.fromkeys(k.strip() for k in text.replace("\x00", "").split(",") if k.strip()))
    if not keys:
        raise ValidationError({"metrics": "Name at least one metric key (see /api/v1/metrics/catalog)."})
    if len(keys) > MAX_METRICS:
        raise ValidationError({"metrics": f"At most {MAX_METRICS} metrics at once."})
    return keys


def _partners(actor: Actor, text: str) -> list[Partner]:
    """The partners named by id; another partner's id, or one outside the actor's scope, is a 404."""
    ids = [t.strip() for t in text.split(",") if t.strip()]
    if len(ids) > MAX_PARTNERS:
        raise ValidationError({"partners": f"At most {MAX_PARTNERS} partners at once."})
    found = []
    for raw in dict.fromkeys(ids):
        try:
            public_id = uuid.UUID(raw)
        except ValueError:
            raise ValidationError({"partners": f"{raw[:40]!r} is not a partner id."}) from None
        found.append(partner_selectors.partner_get(actor=actor, public_id=public_id))
    return found


def _cell(value: engine.Value) -> dict[str, Any]:
    return {"value": value.value, "missing": value.missing, "late": value.late, "adjusted": value.adjusted}


@router.get("/metrics/series", tags=TAGS, response={200: SeriesOut, **ERRORS})
def metric_series(request: HttpRequest, query: Query[SeriesQuery]) -> dict[str, Any]:
    """Metrics × partners × periods: the total of the partners matching the filters (a partner user: their
    own partner), and a row per partner named in ``partners``. Closed periods come from their snapshot,
    with late adjustments next to the closed values."""
    actor = request_actor(request)
    keys = _keys(query.metrics)
    periods = _periods(query)
    named = _partners(actor, query.partners)
    if actor.is_partner_user and not named:
        own = partner_selectors.partner_get_own(actor=actor)
        named = [own] if own else []
    filters = PartnerFilters.from_mapping(
        {k: getattr(query, k) for k in ("program", "tier", "type", "region", "owner", "tag")}
    )
    try:
        tables = figures.metric_series(
            actor=actor, keys=keys, periods=periods, filters=filters, per_partner=False
        )
        partner_tables = (
            figures.metric_series(
                actor=actor, keys=keys, periods=periods, partners=[p.pk for p in named], totals=False
            )
            if named
            else []
        )
    except (UnknownMetricError, figures.NotComputableError, figures.StaffOnlyMetricError) as error:
        raise ValidationError({"metrics": str(error.args[0])}) from None
    rows: list[dict[str, Any]] = [
        {
            "partner": None,
            "name": "All partners" if not actor.is_partner_user else "Total",
            "values": {k: [_cell(t.total(k)) for t in tables] for k in keys},
        }
    ]
    rows += [
        {
            "partner": p.public_id,
            "name": p.name,
            "values": {k: [_cell(t.value(p.pk, k)) for t in partner_tables] for k in keys},
        }
        for p in named
    ]
    closed = closing.closed_keys(actor.workspace_id, periods)
    unconverted = []
    if figures.reads_deals(keys) and tables:
        ids = sorted({*tables[0].partner_ids, *(p.pk for p in named)})
        span = Period(periods[0].start, periods[-1].end)
        unconverted = [
            {"currency": u.currency, "deals": u.deals, "open_deals": u.open_deals, "days": sorted(u.days)}
            for u in figures.unconverted_deals(actor=actor, period=span, partners=ids)
        ]
    return {
        "metrics": keys,
        "periods": [
            {"key": p.key, "start": p.start, "end": p.end, "closed": p.key in closed} for p in periods
        ],
        "partners": len(tables[0].partner_ids) if tables else 0,
        "rows": rows,
        "unconverted": unconverted,
    }


@router.get("/metrics/regions", tags=TAGS, response={200: list[RegionOut], **ERRORS})
def metric_regions(request: HttpRequest, query: Query[SeriesQuery]) -> list[dict[str, Any]]:
    """Regional performance: sell-through units and revenue by region over the period, for the partners
    matching the filters (a partner user: their own). ``metrics`` is ignored."""
    actor = request_actor(request)
    periods = _periods(query.model_copy(update={"grain": ""}))
    filters = PartnerFilters.from_mapping(
        {k: getattr(query, k) for k in ("program", "tier", "type", "region", "owner", "tag")}
    )
    ids = figures.partner_ids(actor=actor, filters=filters)
    found = sellthrough_by_region(
        actor.workspace_id, partner_ids=ids, start=periods[0].start, end=periods[0].end
    )
    return [{"region": region, **values} for region, values in sorted(found.items())]


# --------------------------------------------------------------------------------------------- parameters


def _staff(actor: Actor) -> None:
    if actor.is_partner_user:
        raise Http404


@router.get("/metrics/parameters", tags=TAGS, response={200: list[ParameterOut], **ERRORS})
def parameter_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Staff: every metric parameter with its default, the value in effect today and its versions."""
    actor = request_actor(request)
    _staff(actor)
    return parameter_overview(actor.workspace_id, _today())


@router.post("/metrics/parameters", tags=TAGS, response={201: ParameterVersionOut, **ERRORS})
def parameter_create(request: HttpRequest, body: ParameterIn) -> Status:
    """Admins: a new version of a parameter from a month on (refused inside a closed period)."""
    actor = request_actor(request)
    _staff(actor)
    version = services.parameter_add(
        actor=actor, key=body.key, value=body.value, effective_from=body.effective_from, note=body.note
    )
    return Status(201, version_out(version))


# --------------------------------------------------------------------------------------------- periods


def _close(c: PeriodClose) -> dict[str, Any]:
    return {
        "period": c.period,
        "start": c.start,
        "end": c.end,
        "status": c.status,
        "closed_at": c.closed_at,
        "closed_by": c.closed_by.email if c.closed_by else None,
        "reopened_at": c.reopened_at,
        "reopened_by": c.reopened_by.email if c.reopened_by else None,
        "reopen_reason": c.reopen_reason,
        "partners": c.partners,
    }


@router.get("/metrics/periods", tags=TAGS, response={200: list[PeriodCloseOut], **ERRORS})
@paginate(Pagination)
def period_list(request: HttpRequest) -> list[dict[str, Any]]:
    """Staff: the closed and reopened periods, newest first."""
    actor = request_actor(request)
    _staff(actor)
    rows = PeriodClose.objects.filter(workspace_id=actor.workspace_id).select_related(
        "closed_by", "reopened_by"
    )
    return [_close(c) for c in rows.order_by("-start", "end")]


def _period_error(error: closing.PeriodError) -> ValidationError:
    return ValidationError({"period": str(error)})


@router.post("/metrics/periods/close", tags=TAGS, response={200: list[PeriodCloseOut], **ERRORS})
def period_close(request: HttpRequest, body: PeriodCloseIn) -> list[dict[str, Any]]:
    """Admins: close a month that has ended (and the quarter and year it ends); already closed: no change."""
    actor = request_actor(request)
    _staff(actor)
    try:
        return [_close(c) for c in closing.period_close(actor=actor, period=body.period)]
    except closing.PeriodError as error:
        raise _period_error(error) from None


@router.post("/metrics/periods/reopen", tags=TAGS, response={200: list[PeriodCloseOut], **ERRORS})
def period_reopen(request: HttpRequest, body: PeriodReopenIn) -> list[dict[str, Any]]:
    """Admins: reopen a closed period (and the quarter and year holding it), with the reason (audited)."""
    actor = request_actor(request)
    _staff(actor)
    if not body.reason.strip():
        raise ValidationError({"reason": "Say why the period is reopened."})
    try:
        return [_close(c) for c in closing.period_reopen(actor=actor, period=body.period, reason=body.reason)]
    except closing.PeriodError as error:
        raise _period_error(error) from None
