"""The scoped entry points to the metric engine: the partners an actor may see (filtered), the values of
catalogued metrics for them over a period or a series of periods. Pages, the API, exports, targets and
scorecards all read figures through here.

A partner user sees only their own partner; staff restricted to their own partners see only those; partner
users never get the metrics built on internal figures (partnership costs, the company's revenue:
:func:`staff_only`). Closed periods (``metrics.closing``) are served from their snapshots, with late
adjustments next to the closed values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.urls import reverse

from openprm.core.actors import Actor
from openprm.core.models import Workspace
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped
from openprm.deals.rollups import read as deals_read
from openprm.deals.rollups.conversion import Unconverted
from openprm.metrics import closing, display, engine
from openprm.metrics.catalog import metric
from openprm.metrics.kpis import FORMULAS
from openprm.metrics.kpis.common import money
from openprm.metrics.kpis.deals import NEEDS as DEAL_NEEDS
from openprm.metrics.parameters import DEFAULTS, params_at, params_on
from openprm.metrics.periods import Period
from openprm.metrics.sources import SOURCES
from openprm.partners.filters import PartnerFilters, partner_filter
from openprm.partners.models import Partner


class NotComputableError(LookupError):
    """A catalogued metric the engine does not compute (it is shown on its own page)."""


class StaffOnlyMetricError(LookupError):
    """A metric built on internal figures, asked for by a partner user."""


STAFF_ONLY_INPUTS = ("cost.", "company.")  # partnership costs and the company's revenue are internal


def staff_only(key: str) -> bool:
    """Whether metric ``key`` reads internal figures (partner users never see it)."""
    formula = FORMULAS.get(key)
    return formula is not None and any(n.startswith(STAFF_ONLY_INPUTS) for n in formula.names(DEFAULTS))


def partner_ids(*, actor: Actor, filters: PartnerFilters | None = None) -> list[int]:
    """The ids of the live partners the actor may see that match ``filters``, in id order."""
    actor.require(Perm.PARTNER_VIEW)
    queryset = partner_filter(Partner.objects.all(), actor=actor, filters=filters or PartnerFilters())
    return sorted(queryset.order_by().values_list("pk", flat=True))


def formulas_for(keys: Sequence[str], actor: Actor | None = None) -> dict[str, engine.Formula]:
    """The formulas of ``keys`` (an unknown key raises UnknownMetricError naming the closest ones; a
    staff-only one asked for by a partner user, StaffOnlyMetricError)."""
    found = {}
    for key in keys:
        metric(key)
        if key not in FORMULAS:
            raise NotComputableError(f"{key!r} is not computed by the metric engine (see its own page).")
        if actor is not None and actor.is_partner_user and staff_only(key):
            raise StaffOnlyMetricError(f"{key!r} is not available to partner users.")
        found[key] = FORMULAS[key]
    return found


def _ids(actor: Actor, filters: PartnerFilters | None, partners: Sequence[int] | None) -> list[int]:
    """The visible partners matching ``filters``, narrowed to ``partners`` when given."""
    visible = partner_ids(actor=actor, filters=filters)
    return visible if partners is None else sorted(set(partners) & set(visible))


def _compute(
    actor: Actor,
    formulas: dict[str, engine.Formula],
    ids: Sequence[int],
    period: Period,
    *,
    totals: bool = True,
    per_partner: bool = True,
) -> engine.Table:
    """The engine over an open period, with the parameters in effect at its start."""
    return engine.compute(
        workspace_id=actor.workspace_id,
        formulas=formulas,
        partner_ids=ids,
        period=period,
        params=params_at(actor.workspace_id, period.start),
        sources=SOURCES,
        totals=totals,
        per_partner=per_partner,
    )


def metric_table(
    *,
    actor: Actor,
    keys: Sequence[str],
    period: Period,
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
    totals: bool = True,
    per_partner: bool = True,
) -> engine.Table:
    """Values of ``keys`` for each visible partner (of ``partners`` when given, else all matching
    ``filters``) and for the whole set, over ``period`` (``per_partner=False``: the set's values only)."""
    ids = _ids(actor, filters, partners)
    formulas = formulas_for(keys, actor)
    record = closing.closed_record(actor.workspace_id, period)
    if record is not None:
        return closing.closed_table(
            record=record, formulas=formulas, partner_ids=ids, period=period, totals=totals
        )
    return _compute(actor, formulas, ids, period, totals=totals, per_partner=per_partner)


def unconverted_deals(
    *,
    actor: Actor,
    period: Period,
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
) -> list[Unconverted]:
    """The visible partners' deals of ``period`` in other currencies that no exchange rate converts (left
    out of every money figure), per currency with their days: what a page says beside the figures
    (``display.unconverted_note``). One query over the day rows and one of the rates."""
    ids = _ids(actor, filters, partners)
    if not ids:
        return []
    return deals_read.unconverted(actor.workspace_id, partner_ids=ids, start=period.start, end=period.end)


def reads_deals(keys: Iterable[str]) -> bool:
    """Whether any of the metrics ``keys`` reads the deal figures (which leave unconverted deals out)."""
    return any((f := FORMULAS.get(key)) is not None and f.needs == DEAL_NEEDS for key in keys)


def reporting_currency(workspace_id: int) -> str:
    """The workspace's reporting currency: every deal money figure is in it."""
    with unscoped():
        return str(Workspace.objects.values_list("currency", flat=True).get(pk=workspace_id))


def unconverted_note(
    *,
    actor: Actor,
    period: Period,
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
) -> str:
    """What a page says beside the deal figures of ``period`` when some deals in other currencies are
    left out ("1 deal in USD not converted: no USD→EUR rate for 2026-11-05; import rates at …"; partner
    users: no link to the staff rates page); "" when every deal is converted. One grouped query over the
    day rows (and one of the rates when there are any), whatever the number of partners."""
    items = unconverted_deals(actor=actor, period=period, filters=filters, partners=partners)
    if not items:
        return ""
    currency = reporting_currency(actor.workspace_id)
    rates_url = None if actor.is_partner_user else reverse("finance:fx_rates")
    return display.unconverted_note(items, currency=currency, rates_url=rates_url)


def _stage_formula(name: str, money_value: bool) -> engine.Formula:
    def compute(inputs: engine.Inputs) -> engine.Raw:
        return money(inputs[name]) if money_value else int(inputs[name])

    return engine.Formula(inputs=(name,), compute=compute, needs=DEAL_NEEDS)


def pipeline_by_stage(
    *,
    actor: Actor,
    stage_keys: Sequence[str],
    period: Period,
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
) -> engine.Table:
    """The open pipeline at the period's end split by stage, for the set: the catalog's
    ``pipeline_value`` and ``open_count`` restricted to each stage (``<stage key>.amount`` and
    ``<stage key>.count``), from the deal rollups' stage inputs (``pipeline.stage.<key>.amount`` /
    ``.count``)."""
    formulas: dict[str, engine.Formula] = {}
    for key in stage_keys:
        formulas[f"{key}.amount"] = _stage_formula(f"pipeline.stage.{key}.amount", True)
        formulas[f"{key}.count"] = _stage_formula(f"pipeline.stage.{key}.count", False)
    return _compute(actor, formulas, _ids(actor, filters, partners), period, per_partner=False)


def metric_series(
    *,
    actor: Actor,
    keys: Sequence[str],
    periods: Sequence[Period],
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
    totals: bool = True,
    per_partner: bool = True,
) -> list[engine.Table]:
    """:func:`metric_table` for each of ``periods`` (a trend), the partner set resolved once and the open
    periods computed together (``engine.compute_series``). ``per_partner=False`` when only the set's values
    are read (a program trend): the partners' rows may then be left out."""
    ids = _ids(actor, filters, partners)
    formulas = formulas_for(keys, actor)
    closed = closing.closed_keys(actor.workspace_id, periods)
    records = {
        p.key: record
        for p in periods
        if p.key in closed and (record := closing.closed_record(actor.workspace_id, p)) is not None
    }
    open_periods = [p for p in periods if p.key not in records]
    in_effect = params_on(actor.workspace_id, [p.start for p in open_periods])
    computed = engine.compute_series(
        workspace_id=actor.workspace_id,
        formulas=formulas,
        partner_ids=ids,
        periods=open_periods,
        params=lambda p: in_effect[p.start],
        sources=SOURCES,
        totals=totals,
        per_partner=per_partner,
    )
    live = {t.period.key: t for t in computed}
    return [
        closing.closed_table(
            record=records[p.key], formulas=formulas, partner_ids=ids, period=p, totals=totals
        )
        if p.key in records
        else live[p.key]
        for p in periods
    ]
