"""Pages of the scorecards app, one module per topic."""

from openprm.scorecards.views.scorecards import config, leaderboard, partner, table
from openprm.scorecards.views.targets import target, targets

__all__ = ["config", "leaderboard", "partner", "table", "target", "targets"]
