"""Writes of the metrics app: new versions of metric parameters (period close and reopen are in
``metrics.closing``). Versions are only added, never edited, so what a period was computed with stays
readable; a version effective in a closed period is refused until that period is reopened."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import audit_record
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.metrics.models import MetricParameter, PeriodClose, PeriodStatus
from openprm.metrics.parameters import PARAMETERS, clean_value


def parameter_add(
    *, actor: Actor, key: str, value: Any, effective_from: datetime.date, note: str = ""
) -> MetricParameter:
    """A new version of parameter ``key`` effective from the month starting ``effective_from`` (admins
    only; audited). ValidationError names the field that is wrong."""
    if not actor.can(Perm.WORKSPACE_ADMIN) or actor.is_partner_user or actor.owned_only:
        raise PermissionDenied("Only workspace admins change metric parameters.")
    if key not in PARAMETERS:
        raise ValidationError({"key": f"No parameter {key!r}; known: {', '.join(sorted(PARAMETERS))}."})
    try:
        cleaned = clean_value(key, value)
    except ValueError as error:
        raise ValidationError({"value": str(error)}) from None
    if effective_from.day != 1:
        raise ValidationError({"effective_from": "A version applies from the first day of a month."})
    note = (note or "").replace("\x00", "").strip()[:2000]
    with transaction.atomic():
        closed = (
            PeriodClose.objects.select_for_update()
            .filter(workspace_id=actor.workspace_id, status=PeriodStatus.CLOSED, end__gte=effective_from)
            .order_by("start")
            .values_list("period", flat=True)
        )
        if closed:
            raise ValidationError(
                {
                    "effective_from": f"{effective_from:%Y-%m} is in or before a closed period "
                    f"({', '.join(closed[:3])}); reopen it first or choose a later month."
                }
            )
        if MetricParameter.objects.filter(
            workspace_id=actor.workspace_id, key=key, effective_from=effective_from
        ).exists():
            raise ValidationError(
                {"effective_from": f"{key} already has a version from {effective_from:%Y-%m}."}
            )
        version = MetricParameter.objects.create(
            workspace_id=actor.workspace_id,
            key=key,
            value=cleaned,
            effective_from=effective_from,
            created_by_id=actor.user_id,
            note=note,
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.CREATE,
            instance=version,
            after={"key": key, "value": cleaned, "effective_from": effective_from.isoformat(), "note": note},
        )
    return version
