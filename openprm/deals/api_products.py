"""Placeholder replaced below."""

from ninja import Router

router = Router(tags=["products"])
