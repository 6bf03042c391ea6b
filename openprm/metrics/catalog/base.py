"""The catalog's vocabulary: units, directions, indicators, categories and families, the :class:`Metric`
entry and :class:`UnknownMetricError`. The entries themselves live in one module per family (``financial``,
``engagement``, ``health``, ``verticals``); ``openprm.metrics.catalog`` gathers them into the registry."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

KEY = re.compile(r"^[a-z][a-z0-9_]*$")


class Unit(StrEnum):
    """What a value counts, which decides how it is shown (see ``metrics.display``)."""

    COUNT = "count"
    CURRENCY = "currency"  # an amount in the workspace's reporting currency (Decimal, cents)
    RATIO = "ratio"  # a Decimal in [0, 1], shown as a percent
    DAYS = "days"
    SECONDS = "seconds"  # a duration, shown as minutes, hours or days
    DATE = "date"  # a UTC day
    PER_30_DAYS = "per_30_days"  # a count per 30 days of the period
    CURRENCY_PER_DAY = "currency_per_day"
    SCORE = "score"  # points on the metric's own scale (NPS −100..100, satisfaction 1..5)
    FACTOR = "factor"  # a plain multiple: cost per revenue dollar, inventory turns

    @property
    def note(self) -> str:
        """How the unit reads in API field descriptions ("" when the type says it all)."""
        return UNIT_NOTES[self]


UNIT_NOTES = {
    Unit.COUNT: "",
    Unit.CURRENCY: "An amount in the reporting currency.",
    Unit.RATIO: "A ratio between 0 and 1, rounded to 4 places.",
    Unit.DAYS: "In days.",
    Unit.SECONDS: "In seconds.",
    Unit.DATE: "A UTC day.",
    Unit.PER_30_DAYS: "Per 30 days, rounded to 2 places.",
    Unit.CURRENCY_PER_DAY: "An amount in the reporting currency per day.",
    Unit.SCORE: "Points on the scale the definition gives.",
    Unit.FACTOR: "A plain multiple, rounded to 2 places.",
}


class Direction(StrEnum):
    """Which way is good news: what a target, a trend arrow or an alert compares against."""

    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"
    NEUTRAL = "neutral"  # volume or context (tickets opened, deliverables due): neither way is better


class Indicator(StrEnum):
    """Leading: moves before the results (activity, pipeline). Lagging: measures results already in."""

    LEADING = "leading"
    LAGGING = "lagging"


class Category(StrEnum):
    PIPELINE = "pipeline"
    REVENUE = "revenue"
    COMMUNICATION = "communication"
    PORTAL = "portal"
    ENABLEMENT = "enablement"
    SUPPORT = "support"
    CAMPAIGN = "campaign"
    CONTENT = "content"
    REFERRALS = "referrals"
    ACTIVITY = "activity"
    PROGRAM = "program"
    COSTS = "costs"
    INVOICES = "invoices"
    CUSTOMERS = "customers"
    SATISFACTION = "satisfaction"
    RELATIONSHIP = "relationship"
    USAGE = "usage"
    SELL_THROUGH = "sell_through"


class Family(StrEnum):
    """The catalog's top-level grouping: the three families of the product brief and the vertical packs
    (a metric belongs to one family and may also appear in packs)."""

    FINANCIAL = "financial"
    ENGAGEMENT = "engagement"
    HEALTH = "health"
    SAAS = "saas"
    INFLUENCER = "influencer"
    RETAIL = "retail"

    @property
    def label(self) -> str:
        return FAMILY_LABELS[self]


FAMILY_LABELS = {
    Family.FINANCIAL: "Financial",
    Family.ENGAGEMENT: "Activity & engagement",
    Family.HEALTH: "Relationship health",
    Family.SAAS: "SaaS pack",
    Family.INFLUENCER: "Influencer pack",
    Family.RETAIL: "Retail & distribution pack",
}

CATEGORY_FAMILY = {
    Category.PIPELINE: Family.FINANCIAL,
    Category.REVENUE: Family.FINANCIAL,
    Category.COSTS: Family.FINANCIAL,
    Category.INVOICES: Family.FINANCIAL,
    Category.COMMUNICATION: Family.ENGAGEMENT,
    Category.PORTAL: Family.ENGAGEMENT,
    Category.ENABLEMENT: Family.ENGAGEMENT,
    Category.SUPPORT: Family.ENGAGEMENT,
    Category.CAMPAIGN: Family.ENGAGEMENT,
    Category.CONTENT: Family.ENGAGEMENT,
    Category.REFERRALS: Family.ENGAGEMENT,
    Category.ACTIVITY: Family.ENGAGEMENT,
    Category.PROGRAM: Family.ENGAGEMENT,
    Category.CUSTOMERS: Family.HEALTH,
    Category.SATISFACTION: Family.HEALTH,
    Category.RELATIONSHIP: Family.HEALTH,
    Category.USAGE: Family.SAAS,
    Category.SELL_THROUGH: Family.RETAIL,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Metric:
    """One metric: what users read about it, and where the product computes it today."""

    key: str  # stable: API field names, saved targets and URLs use it
    label: str  # short, as shown next to the value
    unit: Unit
    direction: Direction
    definition: str  # plain words, one or two sentences, what a user reads in a glossary or a tooltip
    category: Category
    source: str  # module:Name[.field] of the pure function (or its result's field) computing it
    indicator: Indicator | None = None  # None where neither reading is clear
    formula: str = ""  # the formula in words (filled from FORMULA_TEXTS when the entry gives none)
    needs: str = ""  # the data it needs, when the engine's formula does not say (metrics.kpis)
    family: Family | None = None  # default: the family of its category
    packs: tuple[Family, ...] = ()  # vertical packs it also belongs to
    shown_on: str = ""  # for a metric the engine does not compute: where the product shows it

    def __post_init__(self) -> None:
        if not KEY.match(self.key):
            raise ValueError(f"metric key {self.key!r}: lower-case letters, digits and underscores")
        if not self.label or not self.label[0].isupper():
            raise ValueError(f"{self.key}: the label starts with a capital letter")
        if not self.definition.endswith(".") or not self.definition[0].isupper():
            raise ValueError(f"{self.key}: the definition is a sentence (capital letter, full stop)")
        if ":" not in self.source:
            raise ValueError(f"{self.key}: the source reads module:Name")
        if self.family is None:
            object.__setattr__(self, "family", CATEGORY_FAMILY[self.category])

    @property
    def families(self) -> tuple[Family, ...]:
        """Its family, then the packs it appears in."""
        return (self.family or CATEGORY_FAMILY[self.category], *self.packs)

    def describe(self) -> str:
        """The definition with its unit, as API field descriptions give it."""
        return f"{self.definition} {self.unit.note}".strip()


class UnknownMetricError(LookupError):
    """A metric key the catalog does not know (a typo, or a metric not catalogued yet)."""
