"""The deals API: one ``router`` (mounted by ``config/api.py``) including one router per topic: the
product catalog, deals (registration, decisions, stages, history), conflicts, deal KPIs."""

from ninja import Router

from openprm.deals.api import conflicts, deals, metrics, products

router = Router()
router.add_router("", products.router)
router.add_router("", deals.router)
router.add_router("", conflicts.router)
router.add_router("", metrics.router)

__all__ = ["router"]
