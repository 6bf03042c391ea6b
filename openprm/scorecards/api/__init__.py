"""The scorecards API: one ``router`` (mounted by ``config/api.py``) including one router per topic:
targets (``/targets``) and scorecards (``/scorecards``: scorecards, tier progress, leaderboard, Pareto,
trends, configuration, tier criteria)."""

from ninja import Router

from openprm.scorecards.api import scorecards, targets

router = Router()
router.add_router("", targets.router)
router.add_router("", scorecards.router)

__all__ = ["router"]
