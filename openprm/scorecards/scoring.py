"""The arithmetic of targets, scorecards and tiers: plain functions over plain values (no database).

* **Attainment** — value ÷ target as a percent; for a lower-is-better metric, target ÷ value.
* **Pace** — what should be reached by today: the target × the elapsed share of the period for a flow
  (won revenue, logins: counted over the period), the target itself for a level (win rate, pipeline, a
  duration). "on track" within 5% of it, else "behind by 30%" / "ahead by 12%".
* **Scores** (0–100 per metric, then weighted) — against a target: the attainment, counted up to the cap
  (150% by default: beating one target can make up for missing another); against peers: the percentile
  within the program (mid-rank: the share of peers below, ties counting half). A metric without a value (no
  data, no target where one is needed, no value for the partner) is left out and the weights of the others
  are rescaled, so the overall score always reads 0–100 (capped at 100).
* **Tiers** — in ``scorecards.tiers``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError

from openprm.metrics.catalog import Direction, Unit, metric
from openprm.metrics.kpis import FORMULAS

HUNDRED = Decimal(100)
ONE_PLACE = Decimal("0.1")
ON_TRACK_MARGIN = Decimal("0.05")
LEVELS = frozenset(
    {
        "pipeline_value",
        "weighted_pipeline",
        "open_count",
        "active_certifications",
        "followers_start",
        "followers_end",
        "active_partners",
        "enrolled_partners",
    }
)
"""Count and currency metrics that are levels at the period's end, not sums over it (no pro-rating)."""

METHODS = ("auto", "target", "percentile")
DIMENSIONS = {
    "financial": "Financial",
    "operational": "Operational",
    "engagement": "Engagement",
    "relationship": "Relationship",
}
CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "INR": "₹"}


def q1(value: Decimal) -> Decimal:
    return value.quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def lower_is_better(key: str) -> bool:
    return key != "overall_score" and metric(key).direction == Direction.LOWER


# --------------------------------------------------------------------------------------- attainment, pace


def attainment(value: Decimal | None, target: Decimal, *, lower: bool) -> Decimal | None:
    """Percent of the target reached (one decimal); None when it cannot be said (no value, or a zero
    denominator: a lower-is-better value of 0 against a positive target is 'perfect' and reads as the cap
    decides, so it is None here and scored by the caller)."""
    if value is None:
        return None
    if lower:
        if value <= 0:
            return None
        return q1(target / value * HUNDRED)
    if target <= 0:
        return None
    return q1(value / target * HUNDRED)


def prorated(key: str) -> bool:
    """Whether a target of ``key`` accrues over the period (a sum) rather than holding at every moment."""
    if key == "overall_score":
        return False
    unit = metric(key).unit
    return unit in (Unit.COUNT, Unit.CURRENCY) and key not in LEVELS and not lower_is_better(key)


@dataclass(frozen=True)
class Pace:
    expected: Decimal  # what should be reached by today
    status: str  # on_track, behind, ahead, not_started, no_value
    by: Decimal | None  # how far behind or ahead, in percent of the expected figure
    text: str


def pace(value: Decimal | None, target: Decimal, *, key: str, elapsed: float) -> Pace:
    """How ``value`` compares with what the target expects by now (``elapsed``: the share of the period
    gone by, 0–1)."""
    share = Decimal(str(elapsed)) if prorated(key) else Decimal(1)
    expected = (target * share).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if elapsed <= 0:
        return Pace(expected, "not_started", None, "not started")
    if value is None:
        return Pace(expected, "no_value", None, "no value yet")
    lower = lower_is_better(key)
    if lower:
        ratio = expected / value if value > 0 else Decimal(2)
    else:
        if expected <= 0:
            return Pace(expected, "on_track", Decimal(0), "on track")
        ratio = value / expected
    diff = ratio - 1
    by = q1(abs(diff) * HUNDRED).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if abs(diff) < ON_TRACK_MARGIN:
        return Pace(expected, "on_track", by, "on track")
    if diff < 0:
        return Pace(expected, "behind", by, f"behind by {by}%")
    return Pace(expected, "ahead", by, f"ahead by {by}%")


# ------------------------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class MetricSpec:
    key: str
    weight: Decimal
    method: str = "auto"  # auto: against the target when the partner has one, else the peer percentile


@dataclass(frozen=True)
class DimensionSpec:
    key: str
    weight: Decimal
    metrics: tuple[MetricSpec, ...]

    @property
    def label(self) -> str:
        return DIMENSIONS.get(self.key, self.key.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Config:
    dimensions: tuple[DimensionSpec, ...]
    cap: int = 150

    @property
    def keys(self) -> list[str]:
        return list(dict.fromkeys(m.key for d in self.dimensions for m in d.metrics))

    def as_data(self) -> list[dict[str, Any]]:
        return [
            {
                "key": d.key,
                "weight": float(d.weight),
                "metrics": [{"key": m.key, "weight": float(m.weight), "method": m.method} for m in d.metrics],
            }
            for d in self.dimensions
        ]


def _spec(key: str, weight: int, method: str = "auto") -> MetricSpec:
    return MetricSpec(key, Decimal(weight), method)


DEFAULT = Config(
    dimensions=(
        DimensionSpec(
            "financial",
            Decimal(40),
            (_spec("won_revenue", 50), _spec("win_rate", 25), _spec("pipeline_value", 25)),
        ),
        DimensionSpec("operational", Decimal(20), (_spec("deal_count", 50), _spec("time_to_close_days", 50))),
        DimensionSpec(
            "engagement",
            Decimal(20),
            (_spec("logins", 40), _spec("trainings_completed", 30), _spec("active_certifications", 30)),
        ),
        DimensionSpec("relationship", Decimal(20), (_spec("contacts", 60), _spec("meetings", 40))),
    )
)
"""The scorecard of a program nobody configured: every metric scored against its target where the partner
has one, else against its peers; metrics the workspace has no data for drop out."""


def _weight(errors: dict[str, str], where: str, raw: Any) -> Decimal:
    try:
        if isinstance(raw, bool):
            raise ValueError
        weight = Decimal(str(raw))
        if not weight.is_finite() or weight < 0 or weight > 1000:
            raise ValueError
    except (ValueError, ArithmeticError):
        errors[where] = f"A weight is a number between 0 and 1000 (got {raw!r})."
        return Decimal(0)
    return weight


def parse_config(dimensions: Any, cap: Any = 150) -> Config:
    """A :class:`Config` from its stored or posted form; a ValidationError names every bad part
    (``dimensions.1.metrics.0.key``)."""
    errors: dict[str, str] = {}
    try:
        cap_value = int(cap)
        if not 100 <= cap_value <= 500:
            raise ValueError
    except (TypeError, ValueError):
        errors["cap"] = "The cap is a whole percent between 100 and 500."
        cap_value = 150
    if not isinstance(dimensions, list) or not dimensions:
        raise ValidationError({"dimensions": "Give at least one dimension."})
    out: list[DimensionSpec] = []
    seen_dimensions: set[str] = set()
    for d_index, dim in enumerate(dimensions):
        where = f"dimensions.{d_index}"
        if not isinstance(dim, Mapping):
            errors[where] = "A dimension is an object with key, weight and metrics."
            continue
        key = str(dim.get("key") or "").strip()
        if key not in DIMENSIONS:
            errors[f"{where}.key"] = f"A dimension is one of {', '.join(DIMENSIONS)} (got {key!r})."
        elif key in seen_dimensions:
            errors[f"{where}.key"] = f"The dimension {key!r} is given twice."
        seen_dimensions.add(key)
        weight = _weight(errors, f"{where}.weight", dim.get("weight", 0))
        specs: list[MetricSpec] = []
        seen_metrics: set[str] = set()
        metrics = dim.get("metrics")
        if not isinstance(metrics, list):
            errors[f"{where}.metrics"] = "Give the dimension's metrics as a list."
            metrics = []
        for m_index, item in enumerate(metrics):
            at = f"{where}.metrics.{m_index}"
            if not isinstance(item, Mapping):
                errors[at] = "A metric is an object with key, weight and method."
                continue
            metric_key = str(item.get("key") or "").strip()
            problem = metric_problem(metric_key)
            if problem:
                errors[f"{at}.key"] = problem
            elif metric_key in seen_metrics:
                errors[f"{at}.key"] = f"{metric_key!r} is given twice in this dimension."
            seen_metrics.add(metric_key)
            method = str(item.get("method") or "auto")
            if method not in METHODS:
                errors[f"{at}.method"] = f"The method is one of {', '.join(METHODS)}."
            specs.append(
                MetricSpec(metric_key, _weight(errors, f"{at}.weight", item.get("weight", 0)), method)
            )
        out.append(DimensionSpec(key, weight, tuple(specs)))
    if not errors and not any(d.weight > 0 and any(m.weight > 0 for m in d.metrics) for d in out):
        errors["dimensions"] = "At least one dimension and one of its metrics need a weight above 0."
    if errors:
        raise ValidationError(errors)
    return Config(tuple(out), cap_value)


def metric_problem(key: str) -> str:
    """Why ``key`` cannot be scored or targeted ("" when it can): unknown, or not computed by the engine."""
    try:
        metric(key)
    except LookupError as error:
        return str(error)
    if key not in FORMULAS:
        return f"{key!r} is not computed by the metric engine."
    if metric(key).unit is Unit.DATE:
        return f"{key!r} is a date, not a figure to score."
    return ""


# ------------------------------------------------------------------------------------------------ scoring


def percentiles(values: Mapping[int, Decimal | None], *, lower: bool) -> dict[int, Decimal]:
    """Each partner's mid-rank percentile (0–100, one decimal) among those with a value: the share of the
    others below it, ties counting half (reversed for a lower-is-better metric). A lone partner reads 50."""
    present = sorted((v if not lower else -v, pid) for pid, v in values.items() if v is not None)
    n = len(present)
    if n == 0:
        return {}
    if n == 1:
        return {present[0][1]: Decimal(50)}
    out: dict[int, Decimal] = {}
    index = 0
    while index < n:
        end = index
        while end + 1 < n and present[end + 1][0] == present[index][0]:
            end += 1
        ties = end - index + 1
        score = (Decimal(index) + Decimal(ties - 1) / 2) / (n - 1) * HUNDRED
        for k in range(index, end + 1):
            out[present[k][1]] = q1(score)
        index = end + 1
    return out


@dataclass
class MetricScore:
    key: str
    weight: Decimal  # as configured inside its dimension
    method: str  # target or percentile: what it was scored against
    value: Any = None
    missing: str = ""  # "no data: needs …" from the engine
    target: Decimal | None = None
    attainment: Decimal | None = None
    percentile: Decimal | None = None
    score: Decimal | None = None  # 0–cap (against a target) or 0–100 (percentile); None: left out
    share: Decimal = Decimal(0)  # its weight in the overall score after rescaling, percent
    contribution: Decimal | None = None  # points of the overall score
    note: str = ""  # why it is left out


@dataclass
class DimensionScore:
    key: str
    label: str
    weight: Decimal
    score: Decimal | None
    share: Decimal  # its weight after rescaling, percent
    metrics: list[MetricScore] = field(default_factory=list)


@dataclass
class Scored:
    overall: Decimal | None
    dimensions: list[DimensionScore]


def score_metric(
    spec: MetricSpec,
    *,
    value: Any,
    missing: str,
    target: Decimal | None,
    percentile: Decimal | None,
    cap: int,
) -> MetricScore:
    """One metric's score, or why it is left out."""
    method = spec.method
    if method == "auto":
        method = "target" if target is not None else "percentile"
    out = MetricScore(spec.key, spec.weight, method, value=value, missing=missing, target=target)
    if missing:
        out.note = missing
        return out
    if value is None:
        out.note = "no value in this period"
        return out
    if method == "target":
        if target is None:
            out.note = "no target set"
            return out
        lower = lower_is_better(spec.key)
        decimal_value = value if isinstance(value, Decimal) else Decimal(str(value))
        out.attainment = attainment(decimal_value, target, lower=lower)
        if out.attainment is None:
            perfect = (lower and decimal_value <= 0) or (not lower and target <= 0)
            out.score = Decimal(cap) if perfect else None
            if out.score is None:
                out.note = "attainment undefined"
            return out
        out.score = min(out.attainment, Decimal(cap))
        return out
    if percentile is None:
        out.note = "no peers to compare with"
        return out
    out.percentile = percentile
    out.score = percentile
    return out


def score_only(
    spec: MetricSpec,
    *,
    value: Any,
    missing: str,
    target: Decimal | None,
    percentile: Decimal | None,
    cap: int,
) -> Decimal | None:
    """The score :func:`score_metric` gives, without its explanation (a program's peers, one per partner
    and metric: kept lean)."""
    if missing or value is None:
        return None
    if spec.method == "percentile" or (spec.method == "auto" and target is None):
        return percentile
    if target is None:
        return None
    lower = lower_is_better(spec.key)
    decimal_value = value if isinstance(value, Decimal) else Decimal(str(value))
    reached = attainment(decimal_value, target, lower=lower)
    if reached is None:
        perfect = (lower and decimal_value <= 0) or (not lower and target <= 0)
        return Decimal(cap) if perfect else None
    return min(reached, Decimal(cap))


@dataclass(frozen=True)
class _Shares:
    """How the weights rescale over the metrics that were scored: per live dimension its share of the
    overall and each scored metric's share inside it (the same for every partner scored on the same
    metrics, so computed once per pattern)."""

    dimensions: tuple[tuple[int, Decimal, Decimal, tuple[tuple[int, Decimal, Decimal], ...]], ...]
    # (dimension index, its share, its share in percent, ((metric index, inner share, share in percent), …))


_SHARES: dict[tuple[int, tuple[tuple[bool, ...], ...]], tuple[Config, _Shares | None]] = {}


def _shares(config: Config, scored: tuple[tuple[bool, ...], ...]) -> _Shares | None:
    """:func:`_shares_of`, remembered per configuration object and pattern (a frozen configuration hashes
    all its specs on every call: too slow for every partner of a program)."""
    key = (id(config), scored)
    found = _SHARES.get(key)
    if found is None or found[0] is not config:
        if len(_SHARES) > 4096:
            _SHARES.clear()
        found = _SHARES[key] = (config, _shares_of(config, scored))
    return found[1]


def _shares_of(config: Config, scored: tuple[tuple[bool, ...], ...]) -> _Shares | None:
    live = [
        (d, spec)
        for d, spec in enumerate(config.dimensions)
        if spec.weight > 0
        and any(flag and m.weight > 0 for flag, m in zip(scored[d], spec.metrics, strict=True))
    ]
    total_weight = sum((spec.weight for _, spec in live), Decimal(0))
    if not live or total_weight <= 0:
        return None
    out = []
    for d, spec in live:
        dim_share = spec.weight / total_weight
        metrics = [(i, m) for i, m in enumerate(spec.metrics) if scored[d][i] and m.weight > 0]
        metric_total = sum((m.weight for _, m in metrics), Decimal(0))
        inner = tuple(
            (i, m.weight / metric_total, q1(dim_share * (m.weight / metric_total) * HUNDRED))
            for i, m in metrics
        )
        out.append((d, dim_share, q1(dim_share * HUNDRED), inner))
    return _Shares(tuple(out))


def weigh(config: Config, scores: Mapping[str, MetricScore]) -> Scored:
    """The weighted overall score from each metric's score, rescaling the weights over what was scored."""
    dims: list[DimensionScore] = []
    rows: list[list[MetricScore | None]] = []
    for spec in config.dimensions:
        found = [scores.get(m.key) for m in spec.metrics]
        metrics = [m for m in found if m is not None]
        dims.append(DimensionScore(spec.key, spec.label, spec.weight, None, Decimal(0), metrics))
        rows.append(found)
    pattern = tuple(tuple(m is not None and m.score is not None for m in found) for found in rows)
    shares = _shares(config, pattern)
    if shares is None:
        return Scored(None, dims)
    overall = Decimal(0)
    for d, dim_share, dim_percent, inner in shares.dimensions:
        dim_score = Decimal(0)
        for i, share, percent in inner:
            m = rows[d][i]
            assert m is not None and m.score is not None
            dim_score += share * m.score
            m.share = percent
            m.contribution = q1(dim_share * share * m.score)
            overall += dim_share * share * m.score
        dims[d].share = dim_percent
        dims[d].score = q1(min(dim_score, HUNDRED))
    return Scored(q1(min(overall, HUNDRED)), dims)


def overall_only(config: Config, scores: Mapping[str, Decimal | None]) -> Decimal | None:
    """The overall score :func:`weigh` gives from each metric's score (key → score or None), without
    building the dimensions: what a program's peers need for the ranks (the same arithmetic, in order)."""
    live: list[tuple[Decimal, list[tuple[Decimal, Decimal]]]] = []
    for spec in config.dimensions:
        scored = [
            (m.weight, score)
            for m in spec.metrics
            if m.weight > 0 and (score := scores.get(m.key)) is not None
        ]
        if scored and spec.weight > 0:
            live.append((spec.weight, scored))
    total_weight = sum((weight for weight, _ in live), Decimal(0))
    if not live or total_weight <= 0:
        return None
    overall = Decimal(0)
    for weight, scored in live:
        dim_share = weight / total_weight
        metric_total = sum((w for w, _ in scored), Decimal(0))
        for w, score in scored:
            overall += dim_share * (w / metric_total) * score
    return q1(min(overall, HUNDRED))


def rank_band(rank: int, count: int) -> str:
    """ "top 10%", "top 25%", "top 50%" or "bottom 50%" for the ``rank``-th (1 = best) of ``count``."""
    if count <= 0 or rank <= 0:
        return ""
    if count == 1:
        return "the only partner ranked"
    share = Decimal(rank) / Decimal(count)
    for band in (10, 25, 50):
        if share <= Decimal(band) / HUNDRED:
            return f"top {band}%"
    return "bottom 50%"
