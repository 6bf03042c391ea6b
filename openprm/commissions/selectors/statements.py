"""Statements as read: the list (scoped — a partner user only ever gets their own partner's, restricted
staff their own partners'), one statement with its lines explained in words, and the statement rendered
as HTML, PDF (WeasyPrint, as the reports are) or CSV. The portal calls ``statement_list(actor=...)`` and
``statement_render(actor=..., public_id=..., fmt=...)``; both answer only within the actor's scope (a
statement out of it is ``Statement.DoesNotExist``, the same as a missing one).

Every line says what it is and why: the rule, the base amount and its currency, the rate (or the flat
reward), the FX rate and its date when the base was in another currency, the caps that trimmed it, and
the engine's explanation. With the self-billing layout the statement is an invoice issued by the vendor
on the partner's behalf: the partner as supplier with their tax id, the vendor as customer
(``PRM_VENDOR_ADDRESS``, ``PRM_VENDOR_TAX_ID``).
"""

from __future__ import annotations

import csv
import datetime
import io
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.text import slugify

from openprm.commissions.models import LedgerEntry, PayoutDetails, Statement
from openprm.commissions.selectors.pages import explanation_words, rate_label
from openprm.commissions.services.details import UnreadableDetailsError, unseal
from openprm.commissions.services.statements import statement_window
from openprm.core.actors import Actor
from openprm.core.models import Workspace

PDF_TYPE = "application/pdf"
CSV_TYPE = "text/csv; charset=utf-8"


def statement_list(*, actor: Actor, partner_id: int | None = None) -> QuerySet[Statement]:
    """Statements the actor may see, newest period first (``partner_id`` narrows it for staff)."""
    del actor  # the active scope (set from the actor by the middleware or the task base) does the scoping
    queryset = Statement.objects.select_related("partner", "payout_item").order_by("-period_end", "-id")
    return queryset.filter(partner_id=partner_id) if partner_id is not None else queryset


def statement_get(*, actor: Actor, public_id: uuid.UUID | str) -> Statement:
    return statement_list(actor=actor).get(public_id=public_id)


@dataclass(frozen=True)
class Line:
    date: str
    kind: str
    what: str  # the event and rule
    base: str
    rate: str
    fx: str
    caps: str
    amount: Decimal
    state: str
    why: str  # the explanation in words

    @property
    def explained(self) -> str:
        return "; ".join(p for p in (self.base, self.rate, self.fx, self.caps, self.why) if p)


def _num(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return ""
    return f"{value:,.{places}f}"


def _rate(entry: LedgerEntry) -> str:
    label = rate_label(entry)
    if label.endswith("%"):
        return f"rate {label}"
    return "flat reward" if label == "flat" else label


def _caps(entry: LedgerEntry) -> str:
    parts = []
    for cap in entry.caps or []:
        if isinstance(cap, dict):
            name = str(cap.get("cap") or cap.get("kind") or "cap").replace("_", " ")
            limit, trimmed = cap.get("limit"), cap.get("trimmed")
            text = f"{name} cap {limit}" if limit is not None else f"{name} cap"
            parts.append(f"{text} trimmed {trimmed}" if trimmed not in (None, "", "0", "0.00") else text)
        else:
            parts.append(str(cap))
    return "caps: " + ", ".join(parts) if parts else ""


def _why(entry: LedgerEntry) -> str:
    """The engine's explanation in words (rules matched or not, what each line paid), without the event
    line and caps (shown apart)."""
    data = entry.explanation or {}
    if not isinstance(data, dict):
        return str(data)[:400]
    if data.get("summary"):
        return str(data["summary"])[:400]
    words = explanation_words(data, entry.currency)
    return " ".join(w for w in words if not w.startswith(("Event:", "Capped ")))[:600]


def _what(entry: LedgerEntry) -> str:
    source = entry.source_event.replace("_", " ") if entry.source_event else entry.get_source_kind_display()
    rule = f"rule {entry.rule_key}" if entry.rule_key else ""
    version = (
        f"plan version {entry.plan_version.number}" if entry.plan_version_id and entry.plan_version else ""
    )
    if entry.kind == LedgerEntry.Kind.PAYOUT:
        return "Payout" + (
            f" ({(entry.explanation or {}).get('reference')})"
            if (entry.explanation or {}).get("reference")
            else ""
        )
    return " · ".join(p for p in (source, rule, version) if p)


def line_of(entry: LedgerEntry) -> Line:
    foreign = entry.base_currency and entry.base_currency != entry.currency
    fx = (
        f"FX {entry.base_currency}→{entry.currency} {entry.fx_rate.normalize():f}"
        + (f" ({entry.fx_date:%Y-%m-%d})" if entry.fx_date else "")
        if foreign
        else ""
    )
    base = (
        f"base {_num(entry.base_amount)} {entry.base_currency}"
        if entry.kind != LedgerEntry.Kind.PAYOUT and entry.base_amount
        else ""
    )
    booked, occurred = (
        entry.created_at.astimezone(datetime.UTC).date(),
        entry.occurred_at.astimezone(datetime.UTC).date(),
    )
    return Line(
        date=f"{booked:%Y-%m-%d}",
        kind=entry.get_kind_display(),
        what=_what(entry) + (f" · event of {occurred:%Y-%m-%d}" if occurred != booked else ""),
        base=base,
        rate=_rate(entry),
        fx=fx,
        caps=_caps(entry),
        amount=entry.amount,
        state=entry.get_state_display(),
        why=_why(entry),
    )


def _rejection(entry: LedgerEntry) -> Line:
    """The rejection of an entry, booked in the period it happened: minus the entry's amount."""
    line = line_of(entry)
    rejected = entry.rejected_at.astimezone(datetime.UTC).date() if entry.rejected_at else None
    booked = entry.created_at.astimezone(datetime.UTC).date()
    return Line(
        date=f"{rejected:%Y-%m-%d}" if rejected else line.date,
        kind="Rejection",
        what=f"{line.kind} of {booked:%Y-%m-%d} rejected · {line.what}",
        base=line.base,
        rate=line.rate,
        fx=line.fx,
        caps=line.caps,
        amount=-entry.amount,
        state=entry.get_state_display(),
        why=f"rejected: {entry.rejected_reason}" if entry.rejected_reason else "rejected",
    )


def statement_lines(statement: Statement) -> list[Line]:
    """The lines as booked in the statement's window: every entry booked in it (one rejected later
    keeps its line, with the state it had at the period's end), and the rejections that happened in it.
    They add up to the stored totals, however much later the statement is rendered."""
    start, end = statement_window(statement)
    base = (
        LedgerEntry.objects.filter(partner_id=statement.partner_id, currency=statement.currency)
        .exclude(amount=0)  # events that earned nothing are explained on the ledger, not billed
        .select_related("plan_version")
    )
    lines: list[tuple[datetime.datetime, int, Line]] = []
    for entry in base.filter(created_at__gte=start, created_at__lt=end):
        rejected_at = entry.rejected_at or entry.created_at
        line = line_of(entry)
        if entry.state == LedgerEntry.State.REJECTED:
            if rejected_at < end:
                continue  # booked and rejected in the same period: it never counted here
            was = "Approved" if entry.approved_at and entry.approved_at < end else "Pending"
            line = replace(line, state=f"{was} (rejected {rejected_at.astimezone(datetime.UTC):%Y-%m-%d})")
        lines.append((entry.created_at, entry.pk, line))
    rejections = base.filter(
        state=LedgerEntry.State.REJECTED,
        rejected_at__gte=start,
        rejected_at__lt=end,
        created_at__lt=start,  # booked in an earlier period: its rejection is a line of this one
    )
    for entry in rejections:
        assert entry.rejected_at is not None
        lines.append((entry.rejected_at, entry.pk, _rejection(entry)))
    return [line for _, _, line in sorted(lines, key=lambda t: (t[0], t[1]))]


def _partner_tax_id(statement: Statement) -> tuple[PayoutDetails | None, str]:
    details = PayoutDetails.objects.filter(partner_id=statement.partner_id).first()
    if details is None:
        return None, ""
    try:
        return details, unseal(details.secret).get("tax_id", "")
    except UnreadableDetailsError:
        return details, ""


def statement_context(
    *, actor: Actor, statement: Statement, self_billing: bool | None = None
) -> dict[str, Any]:
    details, tax_id = _partner_tax_id(statement)
    billing = bool(details and details.self_billing) if self_billing is None else self_billing
    partner = statement.partner
    workspace = Workspace.objects.get(pk=statement.workspace_id)
    return {
        "statement": statement,
        "partner": partner,
        "lines": statement_lines(statement),
        "self_billing": billing,
        "invoice_number": f"SB-{statement.period_end:%Y%m%d}-{statement.public_id.hex[:8].upper()}",
        "supplier": {
            "name": partner.legal_name or partner.name,
            "country": str(partner.country or ""),
            "tax_id": tax_id,
        },
        "vendor": {
            "name": workspace.name,
            "address": [
                line.strip()
                for line in str(getattr(settings, "PRM_VENDOR_ADDRESS", "")).replace("\\n", "\n").splitlines()
                if line.strip()
            ],
            "tax_id": getattr(settings, "PRM_VENDOR_TAX_ID", ""),
        },
        "for_partner": actor.is_partner_user,
    }


@dataclass(frozen=True)
class Rendered:
    filename: str
    content: bytes
    mimetype: str


def to_csv(context: dict[str, Any]) -> bytes:
    statement: Statement = context["statement"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        ["date", "kind", "what", "base", "rate", "fx", "caps", "explanation", "state", "amount", "currency"]
    )
    writer.writerow(
        ["", "opening balance", "", "", "", "", "", "", "", f"{statement.opening:.2f}", statement.currency]
    )
    for line in context["lines"]:
        cells = [
            line.date,
            line.kind,
            line.what,
            line.base,
            line.rate,
            line.fx,
            line.caps,
            line.why,
            line.state,
        ]
        writer.writerow(
            [("'" + c) if c[:1] in ("=", "+", "-", "@") else c for c in cells]
            + [f"{line.amount:.2f}", statement.currency]
        )
    for label, value in (
        ("earned", statement.earned),
        ("paid", statement.paid),
        ("closing balance", statement.closing),
    ):
        writer.writerow(["", label, "", "", "", "", "", "", "", f"{value:.2f}", statement.currency])
    return ("\ufeff" + buffer.getvalue()).encode()


def to_html(context: dict[str, Any]) -> str:
    return render_to_string("commissions/statement_document.html", context)


def statement_render(
    *, actor: Actor, public_id: uuid.UUID | str, fmt: str = "pdf", self_billing: bool | None = None
) -> Rendered:
    """The statement as ``pdf``, ``csv`` or ``html``; only within the actor's scope."""
    statement = statement_get(actor=actor, public_id=public_id)
    context = statement_context(actor=actor, statement=statement, self_billing=self_billing)
    kind = "self-billing-invoice" if context["self_billing"] else "statement"
    stem = (
        slugify(f"{kind} {statement.partner.name} {statement.period_start} {statement.period_end}")
        or "statement"
    )
    if fmt == "csv":
        return Rendered(f"{stem}.csv", to_csv(context), CSV_TYPE)
    html = to_html(context)
    if fmt == "html":
        return Rendered(f"{stem}.html", html.encode(), "text/html; charset=utf-8")
    from openprm.reports.render import to_pdf

    return Rendered(f"{stem}.pdf", to_pdf(html), PDF_TYPE)
