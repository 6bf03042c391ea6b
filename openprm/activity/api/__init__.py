"""The activity API: one ``router`` (mounted by ``config/api.py``) including one router per topic: event
ingestion and event types, referral tracking (links, coupons, conversions), logged interactions."""

from ninja import Router

from openprm.activity.api import events, interactions, referrals

router = Router()
router.add_router("", events.router)
router.add_router("", referrals.router)
router.add_router("", interactions.router)

__all__ = ["router"]
