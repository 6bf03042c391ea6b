"""The customers API under ``/api/v1/customers/``: one ``router`` (mounted by ``config/api.py``) including
one router per topic: accounts, and their records (changes, CSAT answers, usage months)."""

from ninja import Router

from openprm.customers.api import accounts, records

router = Router()
router.add_router("", accounts.router)
router.add_router("", records.router)

__all__ = ["router"]
