"""Payout export files: a run's payments as the provider's upload file (bank transfer, PayPal payouts,
Wise batch), built from the details sealed into each payment; every download is audited."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q

from openprm.commissions.models import PayoutItem, PayoutRun
from openprm.commissions.services.details import sealed_for_export
from openprm.core.actors import Actor
from openprm.core.audit import audit_record
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm

Status = PayoutRun.Status
ItemStatus = PayoutItem.Status

EXPORT_METHODS = {
    "bank": "Bank transfer CSV (name, IBAN, BIC, amount, currency, reference)",
    "paypal": "PayPal payouts CSV (recipient e-mail, amount, currency, reference id, note, wallet)",
    "wise": "Wise batch CSV (send by e-mail template)",
}


def item_reference(run: PayoutRun, item: PayoutItem) -> str:
    """The payment's reference, the same on every retry (providers deduplicate on it)."""
    return f"PRM-{run.public_id.hex[:8].upper()}-{item.public_id.hex[:10].upper()}"


def _safe(text: str) -> str:
    """No spreadsheet formula from a partner-given name."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content: bytes
    rows: int


def export_file(*, actor: Actor, run: PayoutRun, method: str) -> ExportFile:
    """The run's pending items paid by ``method`` as the provider's upload file, from the details sealed
    into each item (the partner's as they were when the item was made or retried)."""
    actor.require(Perm.PAYOUT_MANAGE)
    if method not in EXPORT_METHODS:
        raise ValidationError({"method": f"Choose one of: {', '.join(EXPORT_METHODS)}."})
    if run.status not in (Status.EXPORTED, Status.PAID, Status.FAILED):
        raise ValidationError({"status": "Export the run first."})
    wanted = Q(status=ItemStatus.PENDING) if run.status != Status.PAID else Q(status=ItemStatus.PAID)
    items = list(
        run.items.filter(wanted, method=method).select_related("partner").order_by("partner__name", "id")
    )
    unsealed = [item.partner.name for item in items if not item.details_secret]
    if unsealed:  # an item made before the details were sealed into items, changed since its export
        raise ValidationError(
            {
                "status": f"The payout details of {', '.join(unsealed[:3])} changed after this run was "
                "exported: the file is not built from details finance has not seen."
                + (
                    " A paid run's file cannot be rebuilt any more."
                    if run.status == Status.PAID
                    else " Check the change with the partner, then mark the run failed and retry it "
                    "to export it with the new details."
                )
            }
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if method == "bank":
        writer.writerow(["name", "iban", "bic", "account_number", "amount", "currency", "reference"])
    elif method == "wise":
        writer.writerow(
            [
                "name",
                "recipientEmail",
                "paymentReference",
                "receiverType",
                "amountCurrency",
                "amount",
                "sourceCurrency",
                "targetCurrency",
            ]
        )
    for item in items:
        plain = sealed_for_export(item.details_secret)
        name = _safe(item.details_holder or item.partner.name)
        reference = item_reference(run, item)
        amount = f"{item.amount:.2f}"
        if method == "bank":
            writer.writerow(
                [
                    name,
                    plain.get("iban", ""),
                    plain.get("bic", ""),
                    plain.get("account_number", ""),
                    amount,
                    run.currency,
                    reference,
                ]
            )
        elif method == "paypal":
            note = _safe(f"Commission payout {run.cutoff:%Y-%m-%d} for {item.partner.name}")[:4000]
            writer.writerow([plain.get("email", ""), amount, run.currency, reference, note, "PayPal"])
        else:
            target = item.details_currency or run.currency
            writer.writerow(
                [
                    name,
                    plain.get("email", ""),
                    reference[:35],
                    "BUSINESS",
                    "source",
                    amount,
                    run.currency,
                    target,
                ]
            )
    stem = f"payout-{run.currency.lower()}-{run.cutoff:%Y%m%d}-{method}-attempt{run.attempts or 1}"
    # plain account numbers leave the database: who downloaded which file is in the audit trail
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=run,
        before={"file_downloaded": ""},
        after={"file_downloaded": f"{stem}.csv ({len(items)} payments, plain payout details)"},
    )
    return ExportFile(f"{stem}.csv", buffer.getvalue().encode(), len(items))
