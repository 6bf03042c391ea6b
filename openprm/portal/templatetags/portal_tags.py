"""Template helpers of the shared layout: ``{% load portal_tags %}``."""

from __future__ import annotations

from typing import Any

from django import template

from openprm.core.permissions import Perm

register = template.Library()


@register.filter
def can(actor: Any, perm: str) -> bool:
    """``actor|can:"api.tokens"``: whether the actor's role holds the permission (false without one)."""
    return bool(actor is not None and hasattr(actor, "can") and actor.can(Perm(perm)))
