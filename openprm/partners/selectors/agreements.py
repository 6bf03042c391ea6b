"""Reads of partners' agreements."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.partners.models import Agreement, AgreementStatus, Partner


def agreement_list(*, actor: Actor, partner: Partner | None = None) -> QuerySet[Agreement]:
    actor.require(Perm.PARTNER_VIEW)
    queryset = Agreement.objects.select_related("partner")
    return queryset.filter(partner=partner) if partner is not None else queryset


def agreement_get(*, actor: Actor, public_id: Any) -> Agreement:
    actor.require(Perm.PARTNER_VIEW)
    return Agreement.objects.select_related("partner").get(public_id=parse_uuid(str(public_id)))


def agreements_expiring(*, actor: Actor, within_days: int) -> QuerySet[Agreement]:
    today = timezone.localdate()
    return (
        agreement_list(actor=actor)
        .filter(
            status__in=[AgreementStatus.ACTIVE, AgreementStatus.EXPIRING],
            auto_renew=False,
            end_date__gte=today,
            end_date__lte=today + datetime.timedelta(days=within_days),
        )
        .order_by("end_date")
    )
