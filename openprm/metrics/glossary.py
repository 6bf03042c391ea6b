"""The catalog as users read it: every metric with its definition, formula, unit, direction, leading or
lagging, family and packs, the data it needs and how it is computed (by the engine, or on which page it is
shown). The glossary page, the catalog API and the ``{% metric_label %}`` tag read it from here."""

from __future__ import annotations

from dataclasses import dataclass

from openprm.metrics.catalog import METRICS, Direction, Family, Metric, Unit
from openprm.metrics.kpis import FORMULAS

UNIT_WORDS = {
    Unit.COUNT: "count",
    Unit.CURRENCY: "amount (reporting currency)",
    Unit.RATIO: "percent",
    Unit.DAYS: "days",
    Unit.SECONDS: "duration",
    Unit.DATE: "date",
    Unit.PER_30_DAYS: "per 30 days",
    Unit.CURRENCY_PER_DAY: "amount per day",
    Unit.SCORE: "score",
    Unit.FACTOR: "multiple",
}
DIRECTION_WORDS = {
    Direction.HIGHER: "higher is better",
    Direction.LOWER: "lower is better",
    Direction.NEUTRAL: "neither (context)",
}


@dataclass(frozen=True)
class Entry:
    metric: Metric
    needs: str
    computed: bool  # by the metric engine (else ``metric.shown_on`` says where it is shown)

    @property
    def key(self) -> str:
        return self.metric.key

    @property
    def unit(self) -> str:
        return UNIT_WORDS[self.metric.unit]

    @property
    def direction(self) -> str:
        return DIRECTION_WORDS[self.metric.direction]

    @property
    def indicator(self) -> str:
        return self.metric.indicator.value if self.metric.indicator else "—"

    @property
    def text(self) -> str:
        """Everything searchable, lower-cased."""
        m = self.metric
        words = (m.key, m.label, m.definition, m.formula, self.needs, m.category.value, *m.families)
        return " ".join(words).lower()


def entries() -> list[Entry]:
    """Every catalogued metric, in catalog order."""
    found = []
    for key, entry in METRICS.items():
        formula = FORMULAS.get(key)
        needs = entry.needs or (formula.needs if formula else "")
        found.append(Entry(entry, needs, formula is not None))
    return found


def search(*, q: str = "", family: str = "") -> list[Entry]:
    """The entries whose words contain every term of ``q`` and that belong to ``family`` (or a pack)."""
    terms = q.lower().split()
    return [
        e
        for e in entries()
        if all(t in e.text for t in terms) and (not family or family in e.metric.families)
    ]


def families() -> list[Family]:
    return list(Family)
