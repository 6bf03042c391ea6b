"""The partners API: one ``router`` (mounted by ``config/api.py``) including one router per topic:
partners (and ``/me``), their contacts, their agreements, programs and tiers."""

from ninja import Router

from openprm.partners.api import agreements, contacts, partners, programs

router = Router()
router.add_router("", partners.router)
router.add_router("", contacts.router)
router.add_router("", agreements.router)
router.add_router("", programs.router)

__all__ = ["router"]
