"""A partner's agreements, with an optional signed file."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from openprm.core.actors import Actor
from openprm.core.audit import apply_values, audit_record, audited_change, audited_delete, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.core.validation import clean_text
from openprm.partners.models import Agreement, AgreementStatus, Partner
from openprm.partners.services.clean import clean_choice


def _agreement_clean(data: dict[str, Any], creating: bool, current: Agreement | None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    if creating or "title" in data:
        out["title"] = clean_text(errors, "title", data.get("title"), 200, required=True)
    if "kind" in data:
        out["kind"] = clean_choice(
            errors, "kind", data["kind"], Agreement.Kind.values, "agreement type", Agreement.Kind.PARTNER
        )
    if "terms_summary" in data:
        out["terms_summary"] = clean_text(errors, "terms_summary", data["terms_summary"], 20000)
    for key in ("start_date", "end_date"):
        if key in data:
            value = data[key]
            if value is not None and not isinstance(value, datetime.date):
                errors[key] = "Use an ISO date (YYYY-MM-DD)."
            out[key] = value
    if "auto_renew" in data:
        out["auto_renew"] = bool(data["auto_renew"])
    if "renewal_notice_days" in data:
        days = data["renewal_notice_days"]
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 3650:
            errors["renewal_notice_days"] = "A whole number of days between 0 and 3650."
        out["renewal_notice_days"] = days
    if "status" in data:
        out["status"] = clean_choice(
            errors, "status", data["status"], AgreementStatus.values, "status", AgreementStatus.DRAFT
        )
    start = out.get("start_date", current.start_date if current else None)
    end = out.get("end_date", current.end_date if current else None)
    if start and end and end < start and "end_date" not in errors:
        errors["end_date"] = "The end date is before the start date."
    if errors:
        raise ValidationError(errors)
    return out


def _attach(agreement: Agreement, upload: UploadedFile | None) -> None:
    if upload is None:
        return
    if upload.size is not None and upload.size > settings.PRM_MAX_ATTACHMENT_BYTES:
        raise ValidationError(
            {"file": f"The file is larger than {settings.PRM_MAX_ATTACHMENT_BYTES // 2**20} MB."}
        )
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", upload.name or "agreement")[-120:]
    agreement.file.save(name, upload, save=False)


@transaction.atomic
def agreement_create(
    *, actor: Actor, partner: Partner, data: dict[str, Any], upload: UploadedFile | None = None
) -> Agreement:
    actor.require(Perm.PARTNER_EDIT)
    values = _agreement_clean(data, creating=True, current=None)
    agreement = Agreement(workspace_id=actor.workspace_id, partner=partner, **values)
    _attach(agreement, upload)
    agreement.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=agreement,
        after=snapshot(agreement),
        partner_id=partner.pk,
    )
    return agreement


@transaction.atomic
def agreement_update(
    *, actor: Actor, agreement: Agreement, data: dict[str, Any], upload: UploadedFile | None = None
) -> Agreement:
    actor.require(Perm.PARTNER_EDIT)
    values = _agreement_clean(data, creating=False, current=agreement)
    with audited_change(actor=actor, instance=agreement, partner_id=agreement.partner_id):
        apply_values(agreement, values)
        _attach(agreement, upload)
        agreement.save()
    return agreement


@transaction.atomic
def agreement_delete(*, actor: Actor, agreement: Agreement) -> None:
    actor.require(Perm.PARTNER_EDIT)
    audited_delete(actor=actor, instance=agreement, partner_id=agreement.partner_id)
