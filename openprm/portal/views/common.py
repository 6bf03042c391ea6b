"""What the portal pages share: the partner user's own partner (404 for anyone else)."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from openprm.core.http import actor_of
from openprm.partners import selectors
from openprm.partners.models import Partner


def _own_partner(request: HttpRequest) -> Partner:
    actor = actor_of(request)
    if actor.partner_id is None:
        raise Http404
    partner = selectors.partner_list(actor=actor).filter(pk=actor.partner_id).first()
    if partner is None:
        raise Http404
    return partner
