"""Conversion attribution and fraud rules: plain data in, a decision out. No database access.

Which partner earns a conversion (``attribute``), in this order:

1. **Refunds** inherit the partner, program, click and status of the conversion they refund.
2. **Clicks**: the customer's clicks — the ``click_id`` sent with the conversion plus the clicks that
   earned the customer's earlier conversions — that fall inside their program's attribution window
   (``occurred_at - window_days <= clicked_at <= occurred_at``). Of those, the program's model picks
   the earliest (``first_click``) or the latest (``last_click``); when the candidates come from several
   programs, the default program's model decides. An explicit click outside the window still attributes
   to its partner when nothing else does, but is flagged ``click_outside_window`` for review.
3. **Link code** sent with the conversion: the link's partner.
4. **Coupon**: the coupon's partner.
5. **Customer**: the partner that earned the customer's first attributed conversion (signup → purchase
   → recurring payments stay with the partner that brought the customer in, beyond any window).
6. Otherwise the conversion is unattributed.

Fraud rules never reject; they *flag* (the conversion is stored, visible to staff and kept out of the
rollups until someone accepts it): ``self_referral`` (the customer's e-mail domain is the partner's or the
e-mail is one of the partner's contacts'), ``click_flood`` (the winning click's IP hash produced more than
``CLICK_FLOOD_LIMIT`` clicks within ``CLICK_FLOOD_WINDOW`` either side of it), ``no_click``
(attributed by coupon or customer alone with no click of the partner at all, or not attributed at all)
and ``inactive_code`` (attributed by a link code or coupon that staff have deactivated).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

FIRST_CLICK = "first_click"
LAST_CLICK = "last_click"
MODELS = (FIRST_CLICK, LAST_CLICK)

CLICK_FLOOD_LIMIT = 20
"""More clicks than this from one IP hash (on any link) within the window flags a conversion."""
CLICK_FLOOD_WINDOW = datetime.timedelta(hours=1)
"""How far either side of the attributed click the flood rule looks."""

# attributed_by values
BY_CLICK = "click"  # the explicit click, the only candidate
BY_LINK = "link"
BY_COUPON = "coupon"
BY_CUSTOMER = "customer"
BY_REFUND = "refund"

# flag rules
SELF_REFERRAL = "self_referral"
CLICK_FLOOD = "click_flood"
NO_CLICK = "no_click"
OUTSIDE_WINDOW = "click_outside_window"
REFUND_OF_UNACCEPTED = "refund_of_unaccepted"
INACTIVE_CODE = "inactive_code"


def email_hash(email: str) -> str:
    """SHA-256 of the trimmed, lower-cased address: how customers' e-mails are compared (never stored)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class Rule:
    """A program's attribution settings."""

    model: str = LAST_CLICK
    window_days: int = 30


@dataclass(frozen=True)
class Touch:
    """A click that could earn the conversion."""

    click_pk: int
    partner_id: int
    program_id: int | None  # the link's program (None: the default program)
    at: datetime.datetime
    ip_hash: str = ""
    explicit: bool = False  # the click id sent with this conversion


@dataclass(frozen=True)
class Prior:
    """One of the customer's earlier attributed conversions (oldest first)."""

    partner_id: int
    program_id: int | None
    occurred_at: datetime.datetime
    touch: Touch | None  # the click that earned it, if any


@dataclass(frozen=True)
class Original:
    """The conversion a refund refunds."""

    partner_id: int | None
    program_id: int | None
    click_pk: int | None
    attributed_by: str
    accepted: bool


@dataclass(frozen=True)
class Evidence:
    occurred_at: datetime.datetime
    rules: Mapping[int | None, Rule]  # program id → rule; key None = the default program
    explicit_click: Touch | None = None
    link: tuple[int, int | None, int] | None = None  # (partner id, program id, link pk)
    coupon: tuple[int, int | None, int] | None = None  # (partner id, program id, coupon pk)
    priors: Sequence[Prior] = ()
    refund_of: Original | None = None


@dataclass(frozen=True)
class Flag:
    rule: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"rule": self.rule, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    partner_id: int | None
    program_id: int | None
    click_pk: int | None
    attributed_by: str
    flags: tuple[Flag, ...] = field(default_factory=tuple)


def rule_for(rules: Mapping[int | None, Rule], program_id: int | None) -> Rule:
    return rules.get(program_id) or rules.get(None) or Rule()


def in_window(touch: Touch, occurred_at: datetime.datetime, rule: Rule) -> bool:
    return occurred_at - datetime.timedelta(days=rule.window_days) <= touch.at <= occurred_at


def choose(
    touches: Iterable[Touch], occurred_at: datetime.datetime, rules: Mapping[int | None, Rule]
) -> tuple[Touch, str] | None:
    """The winning click among ``touches`` and the model that chose it, or None (none in its window)."""
    eligible = [t for t in touches if in_window(t, occurred_at, rule_for(rules, t.program_id))]
    if not eligible:
        return None
    programs = {t.program_id for t in eligible}
    model = rule_for(rules, programs.pop() if len(programs) == 1 else None).model
    if model == FIRST_CLICK:  # ties: the earlier-recorded click
        return min(eligible, key=_order), FIRST_CLICK
    return max(eligible, key=_order), LAST_CLICK


def _prior_order(prior: Prior) -> tuple[datetime.datetime, int, int]:
    return prior.occurred_at, prior.touch.click_pk if prior.touch else 0, prior.partner_id


def _order(touch: Touch) -> tuple[datetime.datetime, int]:
    return touch.at, touch.click_pk


def attribute(evidence: Evidence) -> Decision:
    """Who earns the conversion, and why (before the fraud rules, see ``fraud_flags``)."""
    original = evidence.refund_of
    if original is not None:
        flags: tuple[Flag, ...] = ()
        if not original.accepted:
            flags = (Flag(REFUND_OF_UNACCEPTED, "The refunded conversion is not accepted."),)
        return Decision(original.partner_id, original.program_id, original.click_pk, BY_REFUND, flags)
    touches = [p.touch for p in evidence.priors if p.touch is not None]
    explicit = evidence.explicit_click
    if explicit is not None:
        touches.append(explicit)
    chosen = choose(touches, evidence.occurred_at, evidence.rules)
    if chosen is not None:
        touch, model = chosen
        by = BY_CLICK if len(touches) == 1 and touch.explicit else model
        return Decision(touch.partner_id, touch.program_id, touch.click_pk, by)
    if explicit is not None:
        days = rule_for(evidence.rules, explicit.program_id).window_days
        detail = f"The click was at {explicit.at.isoformat()}, outside the {days}-day attribution window."
        return Decision(
            explicit.partner_id,
            explicit.program_id,
            explicit.click_pk,
            BY_CLICK,
            (Flag(OUTSIDE_WINDOW, detail),),
        )
    if evidence.link is not None:
        partner_id, program_id, _ = evidence.link
        return Decision(partner_id, program_id, None, BY_LINK)
    if evidence.coupon is not None:
        partner_id, program_id, _ = evidence.coupon
        return Decision(partner_id, program_id, None, BY_COUPON)
    if evidence.priors:
        first = min(evidence.priors, key=_prior_order)
        click = first.touch.click_pk if first.touch is not None else None
        return Decision(first.partner_id, first.program_id, click, BY_CUSTOMER)
    return Decision(None, None, None, "")


@dataclass(frozen=True)
class FraudFacts:
    """What the fraud rules look at, gathered by the service for the decided partner."""

    customer_email_domain: str = ""
    customer_email_hash: str = ""
    partner_domains: frozenset[str] = frozenset()
    contact_email_hashes: frozenset[str] = frozenset()
    clicks_near_from_ip: int = 0  # clicks from the winning click's IP hash within the flood window
    partner_has_click: bool = False  # any click of the partner among the customer's clicks
    inactive_code: str = ""  # the deactivated link or coupon the decision rests on ("coupon SAVE10")


def fraud_flags(decision: Decision, facts: FraudFacts) -> tuple[Flag, ...]:
    """The fraud rules' flags for a decision (refunds follow their original and are not re-checked)."""
    if decision.attributed_by == BY_REFUND:
        return ()
    if decision.partner_id is None:
        return (Flag(NO_CLICK, "No click, link, coupon or earlier conversion attributes this conversion."),)
    flags: list[Flag] = []
    domain = facts.customer_email_domain
    if domain and any(domain == d or domain.endswith("." + d) for d in facts.partner_domains):
        flags.append(Flag(SELF_REFERRAL, f"The customer's e-mail domain {domain} is the partner's."))
    elif facts.customer_email_hash and facts.customer_email_hash in facts.contact_email_hashes:
        flags.append(Flag(SELF_REFERRAL, "The customer's e-mail is one of the partner's contacts'."))
    if decision.click_pk is not None and facts.clicks_near_from_ip > CLICK_FLOOD_LIMIT:
        flags.append(
            Flag(
                CLICK_FLOOD,
                f"{facts.clicks_near_from_ip} clicks from the same IP within an hour of the click "
                f"(limit {CLICK_FLOOD_LIMIT}).",
            )
        )
    if decision.attributed_by in (BY_LINK, BY_COUPON) and facts.inactive_code:
        flags.append(Flag(INACTIVE_CODE, f"Attributed by the {facts.inactive_code}, which is deactivated."))
    if decision.attributed_by in (BY_COUPON, BY_CUSTOMER) and not facts.partner_has_click:
        flags.append(
            Flag(NO_CLICK, f"Attributed by {decision.attributed_by} alone: the partner has no click.")
        )
    return tuple(flags)
