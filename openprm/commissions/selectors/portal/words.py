"""Every commission in words, as a partner reads it: what earned it, the rule and plan version, the base
and its currency, the FX rate and its date, the rate (or the flat reward), the caps that trimmed it, and
for an event that earned nothing, why (no rule for the event, or each rule's unmet conditions). Conditions
on internal fields (the partner's tags) say only that they were not met."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from openprm.commissions.models import LedgerEntry, PayoutItem

ZERO = Decimal("0.00")
Kind = LedgerEntry.Kind
State = LedgerEntry.State

EVENT_WORDS = {
    "deal_won": "Deal won",
    "deal_registered": "Deal registered",
    "deal_approved": "Deal registration approved",
    "signup": "Referred signup",
    "purchase": "Referred purchase",
    "recurring_payment": "Recurring payment of a referred customer",
    "lead_accepted": "Lead accepted",
    "target_reached": "Target reached",
}
KIND_WORDS = {
    Kind.ACCRUAL: "Commission",
    Kind.REVERSAL: "Refund: commission reversed",
    Kind.ADJUSTMENT: "Adjustment",
    Kind.CLAWBACK: "Clawback of a paid commission (refund)",
    Kind.BONUS: "Bonus",
    Kind.OVERRIDE: "Override on a sub-partner's commission",
}
CAP_WORDS = {
    "per_event": "the per-event cap",
    "per_month": "the monthly cap",
    "per_quarter": "the quarterly cap",
}
# Conditions the partner is told about only as met or not: their value names an internal field.
HIDDEN_FIELDS = ("partner.tags",)


@dataclass(frozen=True)
class Explained:
    """One ledger entry as the partner reads it."""

    entry: LedgerEntry
    title: str
    sentences: list[str]
    state_text: str
    state_class: str

    @property
    def earned_nothing(self) -> bool:
        return self.entry.amount == ZERO


def money(value: Decimal | str | None, currency: str = "") -> str:
    if value in (None, ""):
        return ""
    amount = Decimal(str(value))
    text = f"{amount:,.2f}"
    return f"{text} {currency}".strip()


def percent(value: Decimal | str) -> str:
    text = format(Decimal(str(value)).normalize(), "f")
    return f"{text}%"


def _title(entry: LedgerEntry) -> str:
    event = entry.source_event or ""
    if event.startswith("custom:"):
        what = f"Event “{event.removeprefix('custom:').replace('_', ' ')}”"
    else:
        what = EVENT_WORDS.get(event, entry.get_source_kind_display())
    kind = KIND_WORDS.get(Kind(entry.kind), entry.kind)
    return what if entry.kind == Kind.ACCRUAL else f"{kind} · {what}"


def _condition_words(reason: str) -> str:
    """An engine's failed-condition note ("amount gte 10000: was 5000") in words; conditions on internal
    fields say only that they were not met."""
    if reason.startswith(HIDDEN_FIELDS) or "partner.tags" in reason:
        return "a partner-group condition was not met"
    for op, words in (
        (" gte ", " is at least "),
        (" lte ", " is at most "),
        (" gt ", " is more than "),
        (" lt ", " is less than "),
        (" not_in ", " is none of "),
        (" in ", " is one of "),
        (" ne ", " is not "),
        (" eq ", " is "),
        (" contains ", " contains "),
    ):
        if op in reason:
            field, _, rest = reason.partition(op)
            expected, _, actual = rest.partition(": was ")
            field = (
                field.replace("partner.", "your ").replace("customer.", "the customer's ").replace("_", " ")
            )
            text = f"needs {field}{words}{expected.strip()}"
            return f"{text} (it was {actual.strip()})" if actual else text
    return reason


def explanation_sentences(entry: LedgerEntry) -> list[str]:
    """The rule, the base, the rate, the FX rate, the caps and — for an event that earned nothing — why,
    in sentences a partner reads. Staff-only parts of the explanation are left out."""
    data = entry.explanation if isinstance(entry.explanation, dict) else {}
    out: list[str] = []
    version = getattr(entry.plan_version, "number", None) if entry.plan_version_id else None
    if entry.rule_key:
        out.append(f"Rule “{entry.rule_key}”" + (f" of plan version {version}." if version else "."))
    if entry.base_amount:
        base = f"Based on {money(entry.base_amount, entry.base_currency)}"
        if entry.base_currency and entry.base_currency != entry.currency:
            converted = entry.base_amount * entry.fx_rate
            base += (
                f", converted at {format(entry.fx_rate.normalize(), 'f')} {entry.currency} per "
                f"{entry.base_currency}"
                + (f" (rate of {entry.fx_date:%Y-%m-%d})" if entry.fx_date else "")
                + f" = {money(converted, entry.currency)}"
            )
        out.append(base + ".")
    details = [
        str(line.get("detail"))
        for line in data.get("lines", [])
        if isinstance(line, dict)
        and line.get("rule") == entry.rule_key
        and line.get("kind", entry.kind) == entry.kind
        and line.get("detail")
    ]
    if not details and data.get("detail") and entry.source_kind != LedgerEntry.Source.MANUAL:
        details = [str(data["detail"])]  # a reversal's share refunded, an override's base (generated)
    if entry.kind == Kind.OVERRIDE and details:
        out.append(details[0][:1].upper() + details[0][1:] + ".")
    elif entry.rate is not None and entry.kind in (Kind.ACCRUAL, Kind.OVERRIDE, Kind.REVERSAL, Kind.CLAWBACK):
        plain = not details or details[0].startswith(f"{percent(entry.rate)} of")
        out.append(f"Rate {percent(entry.rate)}" + ("." if plain else f" ({details[0]})."))
    elif details:
        out.append(details[0][:1].upper() + details[0][1:] + ".")
    elif entry.source_kind == LedgerEntry.Source.MANUAL:
        out.append("A manual adjustment by our finance team; ask your partner manager about it.")
    elif entry.rate is None and entry.kind in (Kind.ACCRUAL, Kind.BONUS) and entry.amount:
        out.append("A flat reward.")
    for cap in entry.caps or []:
        if isinstance(cap, dict) and Decimal(str(cap.get("trimmed") or 0)) > ZERO:
            name = CAP_WORDS.get(str(cap.get("cap")), f"the {str(cap.get('cap', '')).replace('_', ' ')} cap")
            out.append(
                f"Trimmed by {money(cap.get('trimmed'), entry.currency)}: {name} is "
                f"{money(cap.get('limit'), entry.currency)}."
            )
    if entry.amount == ZERO or not entry.rule_key:
        out.extend(_nothing_words(data))
    return out


def _nothing_words(data: dict[str, Any]) -> list[str]:
    """Why an event earned nothing: no rule for it, or each rule's unmet conditions."""
    if data.get("why"):
        return [str(data["why"])[:1].upper() + str(data["why"])[1:] + "."]
    out = []
    for rule in data.get("rules", []) if isinstance(data.get("rules"), list) else []:
        if isinstance(rule, dict) and not rule.get("ok"):
            reasons = [_condition_words(str(r)) for r in rule.get("why", [])]
            out.append(f"Rule “{rule.get('rule')}” did not apply: {'; '.join(reasons)}.")
        elif isinstance(rule, dict) and rule.get("progress"):
            out.append(f"Rule “{rule.get('rule')}”: {rule['progress']} reached so far.")
    return out


def _state(entry: LedgerEntry, today: datetime.date) -> tuple[str, str]:
    if entry.amount == ZERO and not entry.rule_key and entry.state != State.REJECTED:
        return "no commission", ""
    if entry.state == State.PENDING:
        if entry.hold_until and entry.hold_until > today:
            return f"pending until {entry.hold_until:%Y-%m-%d}", "warn"
        return "pending approval", "warn"
    if entry.state == State.APPROVED and getattr(entry, "payout_status", "") == PayoutItem.Status.ABANDONED:
        return "not paid, carried forward to the next payout", ""
    if entry.state == State.APPROVED:
        return ("approved, netted at the next payout" if entry.amount < ZERO else "approved, to be paid"), ""
    if entry.state == State.PAID:
        return (f"paid {entry.paid_at:%Y-%m-%d}" if entry.paid_at else "paid"), "ok"
    reason = f": {entry.rejected_reason}" if entry.rejected_reason else ""
    return f"rejected{reason}", "bad"


def explain(entry: LedgerEntry, *, today: datetime.date) -> Explained:
    text, css = _state(entry, today)
    return Explained(
        entry=entry,
        title=_title(entry),
        sentences=explanation_sentences(entry),
        state_text=text,
        state_class=css,
    )
