"""Reads of a partner's contacts."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.partners.models import Contact, Partner


def contact_list(*, actor: Actor, partner: Partner | None = None) -> QuerySet[Contact]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = Contact.objects.select_related("partner")
    return queryset.filter(partner=partner) if partner is not None else queryset


def contact_get(*, actor: Actor, public_id: Any) -> Contact:
    actor.require(Perm.PARTNER_VIEW)
    return Contact.objects.select_related("partner").get(public_id=parse_uuid(str(public_id)))
