"""The scoped entry points to the metric engine: the partners an actor may see (filtered), the values of
catalogued metrics for them over a period or a series of periods. Pages, the API, exports, targets and
scorecards all read figures through here.

A partner user sees only their own partner; staff restricted to their own partners see only those. Closed
periods (``metrics.closing``) are served from their snapshots.
"""

from __future__ import annotations

from collections.abc import Sequence

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.metrics import engine
from openprm.metrics.catalog import metric
from openprm.metrics.kpis import FORMULAS
from openprm.metrics.parameters import params_at
from openprm.metrics.periods import Period
from openprm.metrics.sources import SOURCES
from openprm.partners.filters import PartnerFilters, partner_filter
from openprm.partners.models import Partner


class NotComputableError(LookupError):
    """A catalogued metric the engine does not compute (it is shown on its own page)."""


def partner_ids(*, actor: Actor, filters: PartnerFilters | None = None) -> list[int]:
    """The ids of the live partners the actor may see that match ``filters``, in id order."""
    actor.require(Perm.PARTNER_VIEW)
    queryset = partner_filter(Partner.objects.all(), actor=actor, filters=filters or PartnerFilters())
    return sorted(queryset.order_by().values_list("pk", flat=True))


def formulas_for(keys: Sequence[str]) -> dict[str, engine.Formula]:
    """The formulas of ``keys`` (an unknown key raises UnknownMetricError naming the closest ones)."""
    found = {}
    for key in keys:
        metric(key)
        if key not in FORMULAS:
            raise NotComputableError(f"{key!r} is not computed by the metric engine (see its own page).")
        found[key] = FORMULAS[key]
    return found


def metric_table(
    *,
    actor: Actor,
    keys: Sequence[str],
    period: Period,
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
    totals: bool = True,
) -> engine.Table:
    """Values of ``keys`` for each visible partner (of ``partners`` when given, else all matching
    ``filters``) and for the whole set, over ``period``."""
    visible = partner_ids(actor=actor, filters=filters)
    ids = visible if partners is None else sorted(set(partners) & set(visible))
    return engine.compute(
        workspace_id=actor.workspace_id,
        formulas=formulas_for(keys),
        partner_ids=ids,
        period=period,
        params=params_at(actor.workspace_id, period.start),
        sources=SOURCES,
        totals=totals,
    )


def metric_series(
    *,
    actor: Actor,
    keys: Sequence[str],
    periods: Sequence[Period],
    filters: PartnerFilters | None = None,
    partners: Sequence[int] | None = None,
    totals: bool = True,
) -> list[engine.Table]:
    """:func:`metric_table` for each of ``periods`` (a trend), the partner set resolved once."""
    visible = partner_ids(actor=actor, filters=filters)
    ids = visible if partners is None else sorted(set(partners) & set(visible))
    formulas = formulas_for(keys)
    return [
        engine.compute(
            workspace_id=actor.workspace_id,
            formulas=formulas,
            partner_ids=ids,
            period=period,
            params=params_at(actor.workspace_id, period.start),
            sources=SOURCES,
            totals=totals,
        )
        for period in periods
    ]
