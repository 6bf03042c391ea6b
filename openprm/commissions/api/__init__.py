"""The commissions API: one ``router`` (mounted by ``config/api.py``) including one router per topic:
plans and versions, the ledger, payouts and statements."""

from ninja import Router

from openprm.commissions.api import ledger, payouts, plans

router = Router()
router.add_router("", plans.router)
router.add_router("", ledger.router)
router.add_router("", payouts.router)

__all__ = ["router"]
