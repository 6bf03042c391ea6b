"""Reads of the scorecards app (one module per topic): targets and their progress; scorecards and tier
progress; configuration, tier criteria and the program and tier choices; leaderboard, Pareto and trends.
Figures come from ``metrics.figures`` only."""

from openprm.scorecards.selectors.config import (
    config_for,
    config_get,
    criteria_list,
    criterion_get,
    program_choices,
    tier_choices,
)
from openprm.scorecards.selectors.rankings import (
    Leaderboard,
    Pareto,
    Standing,
    Trend,
    leaderboard,
    pareto,
    trends,
)
from openprm.scorecards.selectors.scorecards import (
    KEY_FIGURES,
    SORT_KEYS,
    Scorecard,
    ScorecardRow,
    TierProgress,
    scorecard,
    scorecard_table,
    scorecard_with_progress,
    tier_progress,
)
from openprm.scorecards.selectors.targets import (
    HistoryItem,
    Progress,
    partner_targets,
    target_get,
    target_history,
    target_list,
    target_progress,
)

__all__ = [
    "KEY_FIGURES",
    "SORT_KEYS",
    "HistoryItem",
    "Leaderboard",
    "Pareto",
    "Progress",
    "Scorecard",
    "ScorecardRow",
    "Standing",
    "TierProgress",
    "Trend",
    "config_for",
    "config_get",
    "criteria_list",
    "criterion_get",
    "leaderboard",
    "pareto",
    "partner_targets",
    "program_choices",
    "scorecard",
    "scorecard_table",
    "scorecard_with_progress",
    "target_get",
    "target_history",
    "target_list",
    "target_progress",
    "tier_choices",
    "tier_progress",
    "trends",
]
