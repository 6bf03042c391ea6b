"""How each catalogued metric is computed by the engine: one :class:`~openprm.metrics.engine.Formula` per
metric key, grouped by where its inputs come from. ``FORMULAS`` is the whole set; a test holds it and the
catalog to each other (a catalogued metric the engine cannot compute says where it is shown instead)."""

from __future__ import annotations

from openprm.metrics.engine import Formula
from openprm.metrics.kpis import deals, engagement, finance, health, verticals

FORMULAS: dict[str, Formula] = {
    **deals.FORMULAS,
    **engagement.FORMULAS,
    **finance.FORMULAS,
    **health.FORMULAS,
    **verticals.FORMULAS,
}
