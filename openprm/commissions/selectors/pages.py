"""Reads of the staff commission pages and API that the plans/ledger selectors do not cover: plans with
their versions and assignments, an assignment's target by public id, the ledger page by keyset, and the
sources ("why did this deal earn nothing")."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Count, Q, QuerySet
from ninja import Schema
from pydantic import Field

from openprm.activity.selectors.referrals import conversion_get
from openprm.commissions.filters import Cursor, LedgerFilters, month_range
from openprm.commissions.models import LedgerEntry, Plan, PlanAssignment, PlanVersion
from openprm.commissions.rules import RulesError, parse_rules
from openprm.commissions.selectors.ledger import waiting_reasons
from openprm.commissions.selectors.plans import plan_for_partner
from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.core.permissions import Perm
from openprm.deals.selectors import deal_get
from openprm.partners.models import Partner, Program, Tag, Tier


class PageQuery(Schema):
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=10**9)


def _read(actor: Actor) -> None:
    actor.require(Perm.COMMISSION_VIEW)


# --- plans --------------------------------------------------------------------------------------------


def plan_rows(*, actor: Actor) -> QuerySet[Plan]:
    """Plans by name with their program and how many versions and assignments they have."""
    _read(actor)
    return Plan.objects.select_related("program").annotate(
        version_count=Count("versions", distinct=True),
        published_count=Count("versions", filter=Q(versions__status="published"), distinct=True),
        assignment_count=Count("assignments", distinct=True),
    )


def plan_get(*, actor: Actor, public_id: Any) -> Plan:
    _read(actor)
    return Plan.objects.select_related("program").get(public_id=parse_uuid(public_id))


def versions_of(*, actor: Actor, plan: Plan) -> list[PlanVersion]:
    """Newest first."""
    _read(actor)
    return list(
        PlanVersion.objects.filter(plan=plan)
        .select_related("plan", "created_by", "published_by")
        .order_by("-number")
    )


def in_force(versions: list[PlanVersion], day: datetime.date) -> PlanVersion | None:
    """The version in force on ``day``: the latest published one effective on or before it."""
    published = [v for v in versions if v.status == "published" and v.effective_from <= day]
    return max(published, key=lambda v: (v.effective_from, v.number), default=None)


def version_get(*, actor: Actor, public_id: Any) -> PlanVersion:
    _read(actor)
    return PlanVersion.objects.select_related("plan", "plan__program").get(public_id=parse_uuid(public_id))


def assignments_of(*, actor: Actor, plan: Plan) -> list[PlanAssignment]:
    """By precedence (partner, tag, tier, program), then the latest start first."""
    _read(actor)
    rows = list(
        PlanAssignment.objects.filter(plan=plan).select_related("partner", "tag", "tier__program", "program")
    )
    return sorted(rows, key=lambda a: (PlanAssignment.PRECEDENCE[a.level], -a.starts_on.toordinal(), a.pk))


def assignment_get(*, actor: Actor, public_id: Any) -> PlanAssignment:
    _read(actor)
    return PlanAssignment.objects.select_related("plan", "partner", "tag", "tier__program", "program").get(
        public_id=parse_uuid(public_id)
    )


TARGETS: dict[str, type[Partner] | type[Tag] | type[Tier] | type[Program]] = {
    "partner": Partner,
    "tag": Tag,
    "tier": Tier,
    "program": Program,
}


def target_id(*, actor: Actor, level: str, public_id: Any, field: str = "target_id") -> int:
    """The internal id of an assignment's target (a partner, tag, tier or program the actor may see);
    a ValidationError naming ``field`` when there is none."""
    _read(actor)
    model = TARGETS.get(level)
    found = None
    if model is not None:
        found = model.objects.filter(public_id=parse_uuid(public_id)).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationError({field: f"No {level or 'target'} with this id."})
    return int(found)


def program_of(*, actor: Actor, public_id: Any, field: str = "program_id") -> Program:
    """The program ``public_id``; a ValidationError naming ``field`` when there is none."""
    _read(actor)
    found = Program.objects.filter(public_id=parse_uuid(public_id)).first()
    if found is None:
        raise ValidationError({field: "No program with this id."})
    return found


# --- ledger -------------------------------------------------------------------------------------------


@dataclass
class LedgerPage:
    entries: list[LedgerEntry]
    next_cursor: str | None


def _pk(model: type[Partner] | type[Plan], public_id: str) -> int | None:
    """The id of the row ``public_id`` in the active scope, or None."""
    found = parse_uuid(public_id)
    if found is None:
        return None
    pk: int | None = model.objects.filter(public_id=found).values_list("pk", flat=True).first()
    return pk


def ledger_queryset(*, actor: Actor, filters: LedgerFilters) -> QuerySet[LedgerEntry]:
    """The ledger filtered, newest first (its index ``(workspace, -occurred_at, -id)`` orders it)."""
    _read(actor)
    if errors := filters.errors():
        raise ValidationError(errors)
    rows = LedgerEntry.objects.select_related("partner", "plan", "plan_version", "reverses")
    # the partner and plan by their own ids (not a join on their public ids): the planner then knows
    # how many entries the one partner has and seeks its index instead of walking the whole ledger
    if filters.partner:
        partner_id = _pk(Partner, filters.partner)
        rows = rows.filter(partner_id=partner_id) if partner_id is not None else rows.none()
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.period:
        start, _ = month_range(filters.period)
        rows = rows.filter(period=start)
    if filters.plan:
        plan_id = _pk(Plan, filters.plan)
        rows = rows.filter(plan_id=plan_id) if plan_id is not None else rows.none()
    if filters.source:
        rows = rows.filter(source_kind=filters.source)
        if filters.source_id:
            rows = rows.filter(source_id=int(filters.source_id))
    if filters.earned == "nothing":  # events evaluated that earned nothing (not a zero marker's record)
        rows = rows.filter(amount=0, kind__in=[LedgerEntry.Kind.ACCRUAL, LedgerEntry.Kind.BONUS])
    elif filters.earned == "something":
        rows = rows.exclude(amount=0)
    return rows.order_by("-occurred_at", "-id")


def rate_label(entry: LedgerEntry) -> str:
    """What an entry's rate says: "10%" (stored as a percentage, 20 = 20 %); for a commission without
    one rate, what paid it — "flat", "volume tiers" (a marginal tier split across brackets: the line's
    detail reads "marginal: 50000 at 10%, …") or "bonus"; '' for payouts and corrections without one."""
    if entry.kind == LedgerEntry.Kind.PAYOUT:
        return ""
    if entry.rate is not None:
        return f"{entry.rate.normalize():f}%"
    if entry.kind not in (LedgerEntry.Kind.ACCRUAL, LedgerEntry.Kind.BONUS):
        return ""
    data = entry.explanation if isinstance(entry.explanation, dict) else {}
    lines = [x for x in data.get("lines") or [] if isinstance(x, dict) and x.get("rule") == entry.rule_key]
    if lines and str(lines[0].get("detail") or "").startswith("marginal"):
        return "volume tiers"
    return "bonus" if entry.kind == LedgerEntry.Kind.BONUS else "flat"


def ledger_page(*, actor: Actor, filters: LedgerFilters, cursor: str = "", limit: int = 50) -> LedgerPage:
    """One page of the filtered ledger older than ``cursor`` (keyset: no OFFSET, no COUNT of the table)."""
    rows = ledger_queryset(actor=actor, filters=filters)
    if cursor:
        try:
            after = Cursor.decode(cursor)
        except ValueError as exc:
            raise ValidationError({"cursor": str(exc)}) from None
        # the redundant bound lets the planner seek the index to the cursor instead of scanning to it
        rows = rows.filter(
            Q(occurred_at__lte=after.occurred_at),
            Q(occurred_at__lt=after.occurred_at) | Q(occurred_at=after.occurred_at, id__lt=after.id),
        )
    entries = list(rows[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    for found in entries:  # what the rate column shows (a flat reward, volume tiers, a bonus, a rate)
        found.rate_label = rate_label(found)  # type: ignore[attr-defined]
    last = entries[-1] if entries else None
    return LedgerPage(
        entries=entries,
        next_cursor=Cursor(last.occurred_at, last.pk).encode() if (more and last is not None) else None,
    )


def adjustment_targets(*, actor: Actor, partner: Any, plan: Any) -> tuple[Partner, Plan]:
    """The partner and plan of a manual adjustment by public id (ones the actor may see); a ValidationError
    naming ``partner`` and/or ``plan`` when there is none."""
    _read(actor)
    errors: dict[str, str] = {}
    found_partner = Partner.objects.filter(public_id=parse_uuid(partner)).first()
    if found_partner is None:
        errors["partner"] = "No partner with this id."
    found_plan = Plan.objects.filter(public_id=parse_uuid(plan)).first()
    if found_plan is None:
        errors["plan"] = "No plan with this id."
    if errors or found_partner is None or found_plan is None:
        raise ValidationError(errors)
    return found_partner, found_plan


def entry_get(*, actor: Actor, public_id: Any) -> LedgerEntry:
    _read(actor)
    return LedgerEntry.objects.select_related(
        "partner", "plan", "plan_version", "reverses", "derived_from", "approved_by", "paid_item"
    ).get(public_id=parse_uuid(public_id))


def entry_ids(*, actor: Actor, public_ids: list[Any]) -> list[int]:
    """The internal ids of the entries the actor may see among ``public_ids`` (others are ignored)."""
    _read(actor)
    wanted = [u for u in (parse_uuid(p) for p in public_ids) if u is not None]
    return list(LedgerEntry.objects.filter(public_id__in=wanted).values_list("pk", flat=True))


def entries_of_source(*, actor: Actor, source_kind: str, source_id: int) -> list[LedgerEntry]:
    """Every ledger entry a deal or conversion produced (accruals, reversals, overrides...), oldest first."""
    _read(actor)
    return list(
        LedgerEntry.objects.filter(source_kind=source_kind, source_id=source_id)
        .select_related("partner", "plan", "plan_version", "reverses")
        .order_by("occurred_at", "id")
    )


def entry_filters_choices(*, actor: Actor) -> dict[str, Any]:
    """Choices of the ledger page's filters: plans and partners (by name)."""
    _read(actor)
    return {
        "plans": list(Plan.objects.order_by("name").only("public_id", "name", "currency")),
        "partners": list(Partner.objects.order_by("name").only("public_id", "name")[:2000]),
    }


def source_of(*, actor: Actor, source: str, public_id: Any) -> tuple[int, str, Any]:
    """(internal id, label, row) of the deal or conversion ``public_id`` the actor may see."""
    _read(actor)
    if source == "deal":
        deal = deal_get(actor=actor, public_id=public_id)
        return deal.pk, f"Deal {deal.customer_name} ({deal.partner.name})", deal
    if source == "conversion":
        conversion = conversion_get(actor=actor, public_id=public_id)
        who = conversion.partner.name if conversion.partner else "no partner"
        return conversion.pk, f"Conversion {conversion.get_kind_display().lower()} ({who})", conversion
    raise ObjectDoesNotExist(source)


__all__ = [
    "LedgerPage",
    "PageQuery",
    "adjustment_targets",
    "assignment_get",
    "assignments_of",
    "entries_of_source",
    "entry_filters_choices",
    "entry_get",
    "entry_ids",
    "in_force",
    "ledger_page",
    "ledger_queryset",
    "plan_get",
    "plan_rows",
    "program_of",
    "source_of",
    "target_id",
    "version_get",
    "versions_of",
]


# --- explanations in words ----------------------------------------------------------------------------

FIELD_NAMES = {"amount": "amount", "partner.tier": "partner tier", "partner.type": "partner type"}
OPS = {
    "eq": "=",
    "ne": "≠",
    "in": "in",
    "not_in": "not in",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "contains": "contains",
}


def cap_words(cap: dict[str, Any], unit: str) -> str:
    kind = str(cap.get("cap", "")).replace("_", " ")
    return f"Capped {kind} at {cap.get('limit')}{unit}: {cap.get('trimmed')}{unit} trimmed."


def explanation_words(explanation: dict[str, Any], currency: str = "") -> list[str]:
    """The engine's explanation of one event (``engine.evaluate``) as sentences: the event and its amount,
    each rule tried (matched, or the conditions that failed), which rules the selection chose, the lines
    paid and the caps that trimmed them."""
    if not explanation:
        return []
    out: list[str] = []
    unit = f" {currency}" if currency else ""
    if "override" in explanation:
        return [f"Override (level {explanation['override']}): {explanation.get('detail', '')}."]
    if "event" in explanation:
        event = str(explanation["event"]).replace("_", " ")
        out.append(f"Event: {event}, amount {explanation.get('amount', '?')}{unit} (in the plan's currency).")
    if fx := explanation.get("fx"):
        out.append(f"Converted from {fx.get('from')} at {fx.get('rate')} (the rate of {fx.get('date')}).")
    for rule in explanation.get("rules", []):
        if rule.get("ok"):
            out.append(f"Rule {rule.get('rule')}: its conditions matched.")
        else:
            failed = "; ".join(str(w) for w in rule.get("why", [])) or "did not apply"
            out.append(f"Rule {rule.get('rule')}: not applied ({failed}).")
    if explanation.get("why"):
        out.append(f"Nothing to pay: {explanation['why']}.")
    chosen = explanation.get("chosen") or []
    tried = [r for r in explanation.get("rules", []) if r.get("ok")]
    if len(tried) > 1 and chosen:
        how = {
            "highest": "the highest reward",
            "priority": "the first by priority",
            "stack": "every matching rule",
        }
        out.append(
            f"Several rules matched; the plan pays "
            f"{how.get(str(explanation.get('selection')), 'by its selection')}: {', '.join(chosen)}."
        )
    for line in explanation.get("lines", []):
        text = f"Pays {line.get('amount')}{unit} under rule {line.get('rule')}"
        if line.get("detail"):
            text += f": {line['detail']}"
        out.append(text + ".")
        for cap in line.get("caps", []):
            out.append(cap_words(cap, unit))
    if "rules" in explanation and not explanation.get("lines") and not explanation.get("why"):
        out.append("No rule paid for this event.")
    return out


def entry_words(entry: LedgerEntry) -> list[str]:
    """One entry's explanation in words, with what the row itself says (base, FX rate, rate, caps)."""
    out: list[str] = []
    kind = entry.get_kind_display()
    out.append(
        f"{kind} of {entry.amount:,.2f} {entry.currency} to {entry.partner.name}"
        + (
            f" under {entry.plan.name} version {entry.plan_version.number}"
            if entry.plan and entry.plan_version
            else ""
        )
        + (f", rule {entry.rule_key}" if entry.rule_key else "")
        + "."
    )
    if entry.base_currency and entry.base_currency != entry.currency:
        day = f" of {entry.fx_date:%d %b %Y}" if entry.fx_date else ""
        out.append(
            f"Base {entry.base_amount:,.2f} {entry.base_currency} converted at 1 {entry.base_currency} = "
            f"{entry.fx_rate.normalize():f} {entry.currency} (the rate{day})."
        )
    elif entry.base_amount:
        out.append(f"Base {entry.base_amount:,.2f} {entry.base_currency}.")
    if entry.rate is not None:
        out.append(f"Rate {entry.rate.normalize():f}% of the base.")
    if entry.reverses_id is not None and entry.kind in ("reversal", "clawback"):
        out.append(
            "Reverses an earlier commission at its own rate and FX rate"
            + (" after it was paid: netted against the next payout." if entry.kind == "clawback" else ".")
        )
    words = explanation_words(entry.explanation or {}, entry.currency)
    out.extend(w for w in words if not w.startswith("Event:") or entry.kind == "accrual")
    for cap in entry.caps or []:
        line = cap_words(cap, f" {entry.currency}")
        if line not in out:
            out.append(line)
    if entry.note:
        out.append(f"Note: {entry.note}")
    if entry.state == "rejected" and entry.rejected_reason:
        out.append(f"Rejected: {entry.rejected_reason}")
    return out


def partner_choices(*, actor: Actor) -> list[Partner]:
    _read(actor)
    return list(Partner.objects.order_by("name").only("public_id", "name")[:2000])


# --- why did it earn nothing --------------------------------------------------------------------------


@dataclass
class Why:
    label: str
    entries: list[LedgerEntry]
    lines: list[str]

    @property
    def earned(self) -> bool:
        return any(e.amount and e.state != "rejected" for e in self.entries)

    @property
    def total_text(self) -> str:
        totals: dict[str, Any] = {}
        for e in self.entries:
            if e.state != "rejected":
                totals[e.currency] = totals.get(e.currency, 0) + e.amount
        return ", ".join(f"{amount:,.2f} {currency}" for currency, amount in sorted(totals.items()))


def _source_reasons(source: str, row: Any) -> list[str]:
    """Why a source has no ledger entry, from the source itself: not won, not accepted, no partner."""
    if source == "deal":
        outcome = getattr(row.stage, "outcome", "")
        if outcome != "won":
            return [
                f"The deal is {'lost' if outcome == 'lost' else 'still open'} (stage {row.stage.name}): "
                "deals earn when they are won (bounty rules: when registered or approved)."
            ]
        return []
    if row.partner_id is None:
        return ["The conversion is attributed to no partner, so no partner earns on it."]
    if row.status != "accepted":
        return [f"The conversion is {row.get_status_display().lower()}: only accepted conversions earn."]
    if row.kind == "refund":
        return ["A refund earns nothing: it reverses its purchase's commission at that commission's rate."]
    return []


def why(*, actor: Actor, source: str, public_id: Any) -> Why:
    """Why a deal or conversion earned what it did, or nothing: each of its entries explained, or the
    reason it has none (the source's state, no plan for its partner, or the engine's own explanation)."""
    pk, label, row = source_of(actor=actor, source=source, public_id=public_id)
    entries = entries_of_source(actor=actor, source_kind=source, source_id=pk)
    lines: list[str] = []
    for e in entries:
        state = e.get_state_display().lower()
        head = f"{e.get_kind_display()}: {e.amount:,.2f} {e.currency} to {e.partner.name} ({state}"
        head += f": {e.rejected_reason})." if e.state == "rejected" and e.rejected_reason else ")."
        lines.append(head)
        lines.extend(explanation_words(e.explanation or {}, e.currency)[1:] if e.kind == "accrual" else [])
    if not entries:
        lines.extend(
            waiting_reasons(actor=actor, source_kind=source, source_id=pk)
            or _source_reasons(source, row)
            or nothing_reasons(actor=actor, source=source, row=row)
        )
    return Why(label=label, entries=entries, lines=lines)


def nothing_reasons(*, actor: Actor, source: str, row: Any) -> list[str]:
    """A won deal or an accepted conversion with no entry: no plan reached its partner that day, or the
    plan in force has no rule for its event, or the accrual has not reached it yet. (An event the engine
    evaluated always has an entry, of 0.00 when it earned nothing, explained rule by rule.)"""
    moment = (row.closed_at or row.stage_changed_at) if source == "deal" else row.occurred_at
    day = moment.date()
    event = "deal_won" if source == "deal" else row.kind
    found = plan_for_partner(actor=actor, partner_id=row.partner_id, day=day, program_id=row.program_id)
    if found is None:
        return [
            f"No published plan applied to {row.partner.name} on {day:%d %b %Y}: assign a plan to the "
            "partner, a group (tag) it is in, its tier or its program (partner > group > tier > program), "
            "and publish a version in force on that day."
        ]
    plan, version = found
    try:
        rules = parse_rules(version.rules, stored=True).rules
    except RulesError:
        rules = []
    events = {e for r in rules for e in r.event}
    where = f"{plan.name} version {version.number} (in force on {day:%d %b %Y})"
    if event not in events:
        said = event.replace("_", " ")
        return [f"{where} has no rule for this event ({said}), so it pays nothing for it."]
    return [
        f"{where} has a rule for this event, but it has not been evaluated yet: the accrual runs after each "
        "change and every few minutes."
    ]
