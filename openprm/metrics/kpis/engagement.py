"""Activity and engagement metrics from the event rollups (counts, content sums, paired intervals), with the
event types that count as contact or activity taken from the effective-dated parameters."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

from openprm.metrics.engine import Aggregate, Formula, Inputs, Raw
from openprm.metrics.kpis.common import per_30_days, ratio

CONVERSION_KINDS = ("signup", "purchase")


def _types(key: str) -> Callable[[Mapping[str, Any]], list[str]]:
    return lambda params: [f"events.{t}" for t in params[key]]


def _count(event_type: str, needs: str) -> Formula:
    name = f"events.{event_type}"
    return Formula(inputs=(name,), compute=lambda i: int(i[name]), needs=needs, total=Aggregate.INPUTS)


def _contacts(i: Inputs) -> int:
    return int(i.total(f"events.{t}" for t in i.params["contact_types"]))


def _last(key: str) -> Callable[[Mapping[str, Any]], Collection[str]]:
    return lambda params: ["last:" + "|".join(f"events.{t}" for t in params[key])]


@functools.lru_cache(maxsize=256)
def _last_name(types: tuple[str, ...]) -> str:
    return "last:" + "|".join(f"events.{t}" for t in types)


def _last_value(key: str) -> Callable[[Inputs], Raw]:
    def compute(i: Inputs) -> Raw:
        return i.raw(_last_name(tuple(i.params[key])))

    return compute


def _active_name(params: Mapping[str, Any]) -> str:
    """The input counting the partners with a qualifying event within the active window before the
    period's end (1 per active partner; the set's count under TOTAL): ``active:<days>:<m1>|<m2>…``."""
    return _active_input(int(params["active_window_days"]), tuple(params["qualifying_types"]))


@functools.lru_cache(maxsize=256)
def _active_input(window: int, types: tuple[str, ...]) -> str:
    return f"active:{window}:" + "|".join(f"events.{t}" for t in types)


def _active(i: Inputs) -> int:
    return int(i[_active_name(i.params)])


def _active_share(i: Inputs) -> Decimal:
    """The share of the set's partners that are active (0 or 1 for one partner), unrounded as a mean."""
    return i[_active_name(i.params)] / i.partners


def _sum(name: str) -> Callable[[Inputs], Raw]:
    return lambda i: i[name]


def _rate(numerator: str, denominators: tuple[str, ...]) -> Callable[[Inputs], Raw]:
    return lambda i: ratio(i[numerator], i.total(denominators))


CONTENT = "content posts (events of type content_post with reach, impressions, engagements)"
AUDIENCE = "audience sizes (content_post events with a followers property)"
CLICKS = "tracking-link clicks"
CONVERSIONS = tuple(f"conversions.{k}" for k in CONVERSION_KINDS)
EVENTS = "partner activity (events)"

FORMULAS: dict[str, Formula] = {
    "contacts": Formula(
        _types("contact_types"), _contacts, "communication events (meetings, e-mails, calls)", required=()
    ),
    "contact_frequency": Formula(
        _types("contact_types"),
        lambda i: per_30_days(_contacts(i), i.period.days),
        "communication events (meetings, e-mails, calls)",
        required=(),
    ),
    "last_contact": Formula(
        _last("contact_types"),
        _last_value("contact_types"),
        "communication events (meetings, e-mails, calls)",
        total=Aggregate.NONE,
    ),
    "reply_partner_seconds": Formula(
        ("median:reply.partner",),
        lambda i: i.raw("median:reply.partner"),
        "e-mails to and from the partner (email_sent, email_received)",
    ),
    "reply_vendor_seconds": Formula(
        ("median:reply.vendor",),
        lambda i: i.raw("median:reply.vendor"),
        "e-mails to and from the partner (email_sent, email_received)",
    ),
    "meetings": _count("meeting", "meetings (events of type meeting)"),
    "logins": _count("portal_login", "portal logins"),
    "downloads": _count("resource_download", "resource downloads"),
    "trainings_started": _count("training_started", "trainings (training_started events)"),
    "trainings_completed": _count("training_completed", "trainings (training_completed events)"),
    "training_completion_rate": Formula(
        ("events.training_completed", "events.training_started"),
        _rate("events.training_completed", ("events.training_started",)),
        "trainings (training_started and training_completed events)",
        required=("events.training_started",),
    ),
    "active_certifications": Formula(
        ("stock:events.certification_earned", "stock:events.certification_expired"),
        lambda i: int(i["stock:events.certification_earned"] - i["stock:events.certification_expired"]),
        "certifications (certification_earned events)",
        required=("stock:events.certification_earned",),
    ),
    "tickets_opened": _count("support_ticket_opened", "support tickets"),
    "tickets_resolved": _count("support_ticket_resolved", "support tickets"),
    "ticket_resolution_seconds": Formula(
        ("median:ticket.resolved",),
        lambda i: i.raw("median:ticket.resolved"),
        "support tickets opened and resolved",
    ),
    "deliverables_due": _count("campaign_deliverable_due", "campaign deliverables"),
    "deliverables_approved": _count("campaign_deliverable_approved", "campaign deliverables"),
    "campaign_completion_rate": Formula(
        ("events.campaign_deliverable_approved", "events.campaign_deliverable_due"),
        _rate("events.campaign_deliverable_approved", ("events.campaign_deliverable_due",)),
        "campaign deliverables (due and approved events)",
        required=("events.campaign_deliverable_due",),
    ),
    "deliverable_quality": Formula(
        ("events.campaign_deliverable_approved", "events.campaign_deliverable_submitted"),
        _rate("events.campaign_deliverable_approved", ("events.campaign_deliverable_submitted",)),
        "campaign deliverables (submitted and approved events)",
        required=("events.campaign_deliverable_submitted",),
    ),
    "deliverables_on_time": Formula(
        ("deliverable.on_time",),
        lambda i: int(i["deliverable.on_time"]),
        "campaign deliverables with due dates",
        required=(),
    ),
    "deliverables_late": Formula(
        ("deliverable.late",),
        lambda i: int(i["deliverable.late"]),
        "campaign deliverables with due dates",
        required=(),
    ),
    "on_time_delivery_rate": Formula(
        ("deliverable.on_time", "deliverable.late"),
        _rate("deliverable.on_time", ("deliverable.on_time", "deliverable.late")),
        "campaign deliverables with due dates",
        required=("events.campaign_deliverable_due",),
    ),
    "clicks": Formula(("clicks",), lambda i: int(i["clicks"]), CLICKS),
    "conversions": Formula(
        CONVERSIONS, lambda i: int(i.total(CONVERSIONS)), "referral conversions", required=()
    ),
    "conversion_rate": Formula(
        ("clicks", *CONVERSIONS),
        lambda i: ratio(i.total(CONVERSIONS), i["clicks"]),
        CLICKS,
        required=("clicks",),
    ),
    "reach": Formula(("content.reach",), _sum("content.reach"), CONTENT),
    "impressions": Formula(("content.impressions",), _sum("content.impressions"), CONTENT),
    "engagements": Formula(("content.engagements",), _sum("content.engagements"), CONTENT),
    "engagement_rate": Formula(
        ("content.engagements", "content.impressions"),
        _rate("content.engagements", ("content.impressions",)),
        CONTENT,
        required=("content.impressions",),
    ),
    "followers_start": Formula(
        ("first:content.followers",), lambda i: i.raw("first:content.followers"), AUDIENCE
    ),
    "followers_end": Formula(
        ("final:content.followers",), lambda i: i.raw("final:content.followers"), AUDIENCE
    ),
    "audience_growth": Formula(
        ("first:content.followers", "final:content.followers"),
        lambda i: _growth(i.raw("first:content.followers"), i.raw("final:content.followers")),
        AUDIENCE,
    ),
    "active_partners": Formula(lambda p: [_active_name(p)], _active, EVENTS),
    "active_partner_share": Formula(lambda p: [_active_name(p)], _active_share, EVENTS),
    "enrolled_partners": Formula((), lambda i: i.partners, "partners"),  # 1 per partner, the set's size
}


def _growth(first: Raw, final: Raw) -> Decimal | None:
    """Followers at the end minus followers at the start (the catalog's count, not a ratio)."""
    if first is None or final is None or isinstance(first, datetime.date) or isinstance(final, datetime.date):
        return None
    return Decimal(str(final)) - Decimal(str(first))
