"""The scoring arithmetic: attainment and pace (higher and lower is better, mid-period), percentiles,
weighting with rescaling, rank bands, tier checks and recommendations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.scorecards import scoring, tiers
from openprm.scorecards.scoring import Config, DimensionSpec, MetricSpec

D = Decimal


def test_attainment_higher_and_lower_is_better() -> None:
    assert scoring.attainment(D(30000), D(50000), lower=False) == D("60.0")
    assert scoring.attainment(D(20), D(30), lower=True) == D("150.0")  # 20 days against a 30-day target
    assert scoring.attainment(D(45), D(30), lower=True) == D("66.7")
    assert scoring.attainment(None, D(10), lower=False) is None
    assert scoring.attainment(D(5), D(0), lower=False) is None


def test_pace_prorates_flows_mid_period() -> None:
    # won revenue: half the period gone, 35,000 of a 100,000 target where 50,000 was expected by now
    step = scoring.pace(D(35000), D(100000), key="won_revenue", elapsed=0.5)
    assert step.expected == D("50000.00")
    assert (step.status, step.text) == ("behind", "behind by 30%")
    ahead = scoring.pace(D(56000), D(100000), key="won_revenue", elapsed=0.5)
    assert ahead.text == "ahead by 12%"
    assert scoring.pace(D(51000), D(100000), key="won_revenue", elapsed=0.5).text == "on track"
    assert scoring.pace(D(0), D(100), key="won_revenue", elapsed=0.0).status == "not_started"


def test_pace_of_levels_and_lower_is_better_is_not_prorated() -> None:
    rate = scoring.pace(D("0.3"), D("0.5"), key="win_rate", elapsed=0.25)
    assert rate.expected == D("0.50") and rate.text == "behind by 40%"
    pipeline = scoring.pace(D(100), D(100), key="pipeline_value", elapsed=0.1)
    assert pipeline.text == "on track"
    cycle = scoring.pace(D(40), D(30), key="time_to_close_days", elapsed=0.5)  # slower than the target
    assert cycle.expected == D("30.00") and cycle.text == "behind by 25%"
    assert scoring.pace(D(20), D(30), key="time_to_close_days", elapsed=0.5).text == "ahead by 50%"


def test_percentiles_mid_rank_with_ties_and_direction() -> None:
    values = {1: D(10), 2: D(20), 3: D(20), 4: D(40), 5: None}
    assert scoring.percentiles(values, lower=False) == {1: D(0), 2: D("50.0"), 3: D("50.0"), 4: D(100)}
    assert scoring.percentiles(values, lower=True) == {4: D(0), 2: D("50.0"), 3: D("50.0"), 1: D(100)}
    assert scoring.percentiles({7: D(3)}, lower=False) == {7: D(50)}
    assert scoring.percentiles({}, lower=False) == {}


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=50), min_size=2, max_size=40))
def test_percentiles_stay_in_range_and_follow_the_order(numbers: list[int]) -> None:
    values = {i + 1: D(n) for i, n in enumerate(numbers)}
    pct = scoring.percentiles(values, lower=False)
    assert all(D(0) <= p <= D(100) for p in pct.values())
    for a in values:
        for b in values:
            if values[a] < values[b]:
                assert pct[a] < pct[b]


CONFIG = Config(
    dimensions=(
        DimensionSpec(
            "financial",
            D(60),
            (MetricSpec("won_revenue", D(3), "target"), MetricSpec("win_rate", D(1), "percentile")),
        ),
        DimensionSpec("engagement", D(40), (MetricSpec("logins", D(1), "percentile"),)),
    ),
    cap=150,
)


def _scores(**kwargs: scoring.MetricScore) -> dict[str, scoring.MetricScore]:
    return dict(kwargs)


def test_weighting_and_contributions() -> None:
    won = scoring.score_metric(
        CONFIG.dimensions[0].metrics[0], value=D(60000), missing="", target=D(50000), percentile=None, cap=150
    )
    rate = scoring.score_metric(
        CONFIG.dimensions[0].metrics[1], value=D("0.4"), missing="", target=None, percentile=D(40), cap=150
    )
    logins = scoring.score_metric(
        CONFIG.dimensions[1].metrics[0], value=5, missing="", target=None, percentile=D(80), cap=150
    )
    assert (won.method, won.attainment, won.score) == ("target", D("120.0"), D("120.0"))
    result = scoring.weigh(CONFIG, {"won_revenue": won, "win_rate": rate, "logins": logins})
    # financial: 0.75 × 120 + 0.25 × 40 = 100; engagement 80; overall 0.6 × 100 + 0.4 × 80 = 92
    assert result.overall == D("92.0")
    assert [d.score for d in result.dimensions] == [D("100.0"), D("80.0")]
    assert (won.share, won.contribution) == (D("45.0"), D("54.0"))
    assert (rate.share, rate.contribution) == (D("15.0"), D("6.0"))
    assert (logins.share, logins.contribution) == (D("40.0"), D("32.0"))


def test_attainment_is_capped_and_overall_stays_within_100() -> None:
    won = scoring.score_metric(
        CONFIG.dimensions[0].metrics[0],
        value=D(500000),
        missing="",
        target=D(50000),
        percentile=None,
        cap=150,
    )
    assert won.attainment == D("1000.0") and won.score == D(150)
    rate = scoring.score_metric(
        CONFIG.dimensions[0].metrics[1], value=D(1), missing="", target=None, percentile=D(100), cap=150
    )
    logins = scoring.score_metric(
        CONFIG.dimensions[1].metrics[0], value=9, missing="", target=None, percentile=D(100), cap=150
    )
    assert scoring.weigh(CONFIG, {"won_revenue": won, "win_rate": rate, "logins": logins}).overall == D(100)


def test_metrics_left_out_rescale_the_others() -> None:
    no_target = scoring.score_metric(
        CONFIG.dimensions[0].metrics[0], value=D(10), missing="", target=None, percentile=D(90), cap=150
    )
    assert no_target.score is None and no_target.note == "no target set"
    no_data = scoring.score_metric(
        CONFIG.dimensions[1].metrics[0],
        value=None,
        missing="no data: needs portal logins",
        target=None,
        percentile=None,
        cap=150,
    )
    assert no_data.note == "no data: needs portal logins"
    rate = scoring.score_metric(
        CONFIG.dimensions[0].metrics[1], value=D("0.5"), missing="", target=None, percentile=D(70), cap=150
    )
    result = scoring.weigh(CONFIG, {"won_revenue": no_target, "win_rate": rate, "logins": no_data})
    assert result.overall == D("70.0") and rate.share == D("100.0")
    assert scoring.weigh(CONFIG, {"won_revenue": no_target, "logins": no_data}).overall is None


def test_auto_method_uses_the_target_when_there_is_one() -> None:
    spec = MetricSpec("won_revenue", D(1), "auto")
    assert scoring.score_metric(
        spec, value=D(5), missing="", target=D(10), percentile=D(99), cap=150
    ).score == D("50.0")
    assert scoring.score_metric(
        spec, value=D(5), missing="", target=None, percentile=D(99), cap=150
    ).score == D(99)


def test_rank_bands() -> None:
    assert [scoring.rank_band(r, 20) for r in (1, 2, 3, 5, 6, 10, 11, 20)] == [
        "top 10%",
        "top 10%",
        "top 25%",
        "top 25%",
        "top 50%",
        "top 50%",
        "bottom 50%",
        "bottom 50%",
    ]
    assert scoring.rank_band(1, 1) == "the only partner ranked"


def test_parse_config_names_every_bad_part() -> None:
    with pytest.raises(ValidationError) as caught:
        scoring.parse_config(
            [
                {"key": "financial", "weight": "x", "metrics": [{"key": "won_revenu", "weight": 1}]},
                {"key": "vibes", "weight": 1, "metrics": [{"key": "logins", "weight": 1, "method": "magic"}]},
            ],
            cap=50,
        )
    errors = caught.value.message_dict
    assert set(errors) == {
        "cap",
        "dimensions.0.weight",
        "dimensions.0.metrics.0.key",
        "dimensions.1.key",
        "dimensions.1.metrics.0.method",
    }
    assert "won_revenue" in errors["dimensions.0.metrics.0.key"][0]
    assert scoring.parse_config(scoring.DEFAULT.as_data(), 150) == scoring.DEFAULT


def test_criterion_gaps_in_words() -> None:
    gap = tiers.check_criterion(
        "won_revenue", D(50000), D(38000), grain="year", period="2026", currency="EUR"
    )
    assert not gap.met and gap.gap == D(12000) and gap.text == "€12,000 more won revenue"
    certs = tiers.check_criterion(
        "active_certifications", D(2), 1, grain="year", period="2026", currency="EUR"
    )
    assert certs.text == "1 more active certifications"
    cycle = tiers.check_criterion(
        "time_to_close_days", D(30), D(42), grain="quarter", period="2026-Q4", currency="USD"
    )
    assert not cycle.met and cycle.text == "12.0 less time to close"
    assert tiers.check_criterion(
        "time_to_close_days", D(30), D(20), grain="year", period="2026", currency="USD"
    ).met
    score = tiers.check_criterion(
        "overall_score", D(70), D("64.5"), grain="year", period="2026", currency="USD"
    )
    assert score.text == "5.5 points more overall score"


def _rule(tier_id: int, name: str, rank: int, *met: bool) -> tiers.TierRule:
    checks = tuple(
        tiers.CriterionCheck(
            "won_revenue",
            "Won revenue",
            D(1),
            "year",
            "2026",
            D(1),
            ok,
            None if ok else D(5),
            "" if ok else "€5 more won revenue",
        )
        for ok in met
    )
    return tiers.TierRule(tier_id, name, rank, checks)


def test_recommendations_promote_keep_demote() -> None:
    rules = [_rule(1, "Silver", 1), _rule(2, "Gold", 2, True, True), _rule(3, "Platinum", 3, True, False)]
    promote = tiers.recommend(rules, 1)
    assert (promote.action, promote.recommended, promote.next_tier) == ("promote", "Gold", "Gold")
    assert "Meets every criterion of Gold" in promote.reasons[0]
    keep = tiers.recommend(rules, 2)
    assert (keep.action, keep.next_tier, keep.gaps) == (
        "keep",
        "Platinum",
        ("€5 more won revenue to reach Platinum",),
    )
    demote = tiers.recommend([_rule(1, "Silver", 1), _rule(2, "Gold", 2, False)], 2)
    assert (demote.action, demote.recommended) == ("demote", "Silver")
    assert "Below Gold's criteria: €5 more won revenue." in demote.reasons
    assert tiers.recommend([_rule(1, "Silver", 1), _rule(2, "Gold", 2)], 1).action == "none"


_WEIGHT = st.integers(min_value=0, max_value=5).map(D)
_SCORE = st.one_of(st.none(), st.integers(min_value=0, max_value=1500).map(lambda n: D(n) / 10))


@given(
    st.lists(
        st.tuples(_WEIGHT, st.lists(st.tuples(_WEIGHT, _SCORE), min_size=1, max_size=4)),
        min_size=1,
        max_size=4,
    )
)
def test_a_peers_overall_score_is_the_weighed_overall(dimensions: list[Any]) -> None:
    """Peers are ranked by ``overall_only``: the same overall score as the full ``weigh``."""
    specs, scores = [], {}
    for d, (weight, metrics) in enumerate(dimensions):
        specs.append(
            DimensionSpec(
                f"dim{d}", weight, tuple(MetricSpec(f"m{d}_{i}", w) for i, (w, _) in enumerate(metrics))
            )
        )
        for i, (w, score) in enumerate(metrics):
            scores[f"m{d}_{i}"] = scoring.MetricScore(f"m{d}_{i}", w, "percentile", score=score)
    config = Config(dimensions=tuple(specs))
    expected = scoring.weigh(config, scores).overall
    assert scoring.overall_only(config, {k: m.score for k, m in scores.items()}) == expected


@given(
    method=st.sampled_from(scoring.METHODS),
    key=st.sampled_from(["won_revenue", "time_to_close_days", "win_rate"]),  # higher and lower is better
    value=st.one_of(st.none(), st.integers(min_value=-5, max_value=500).map(D)),
    missing=st.sampled_from(["", "no data: needs deals"]),
    target=st.one_of(st.none(), st.integers(min_value=-2, max_value=300).map(D)),
    percentile=st.one_of(st.none(), st.integers(min_value=0, max_value=1000).map(lambda n: D(n) / 10)),
)
def test_a_peers_metric_score_is_the_explained_score(
    method: str, key: str, value: Any, missing: str, target: Any, percentile: Any
) -> None:
    spec = MetricSpec(key, D(1), method)
    given_ = {"value": value, "missing": missing, "target": target, "percentile": percentile, "cap": 150}
    assert scoring.score_only(spec, **given_) == scoring.score_metric(spec, **given_).score
