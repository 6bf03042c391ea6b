"""The scale dataset's events: an exact number of events spread over the partners and 24 months, streamed.

Each partner gets a share of the total drawn from a long tail (a few partners make most of the noise) times
how engaged it was week by week (``plan.engagement``: declining partners fade, churned ones go quiet); its
share is then spread over its weeks by cumulative rounding, so that the dataset holds exactly the number
asked for. A week's events are a mix of the built-in types (``TYPE_WEIGHTS``): portal logins and
downloads, e-mails in both directions with replies in the same thread, calls and meetings logged by the
partner's owner, trainings, certifications, support tickets opened then resolved, campaign deliverables
due, submitted and approved, survey answers and, for influencers and affiliates, content posts with their
reach and impressions. Paired events (a reply, a resolution) follow their opener within the budget.

Rows are produced a partner at a time in ``EVENT_COLUMNS`` order, database-ready, and written in chunks by
the caller (COPY on PostgreSQL, ``executemany`` on SQLite): memory stays bounded by one chunk. Everything
is drawn from the given ``random.Random``; the same seed gives the same rows.
"""

from __future__ import annotations

import bisect
import datetime
import itertools
import json
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openprm.demo.plan import D, Dice, PartnerPlan, engagement
from openprm.demo.words import CHANNELS, COURSES, RESOURCES
from openprm.partners.models import PartnerStatus

EVENT_COLUMNS = [
    "workspace_id",
    "partner_id",
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "actor_contact_id",
    "actor_user_id",
    "direction",
    "value",
    "properties",
    "source",
]
# What a partner's events are made of (an opener; its replies and follow-ups count in the partner's budget).
TYPE_WEIGHTS: dict[str, float] = {
    "portal_login": 30,
    "resource_download": 10,
    "email_sent": 13,  # opens a thread; the partner answers in it (reply.partner)
    "email_received": 9,  # the partner writes; we answer (reply.vendor)
    "call": 4,
    "meeting": 3,
    "note": 2,
    "training_started": 4,
    "support_ticket_opened": 4,
    "campaign_deliverable_due": 1.5,
    "survey_response": 1,
}
CREATOR_POSTS = 18.0  # the weight of content posts for influencers and affiliates
CREATORS = ("influencer", "affiliate")
CAMPAIGNERS = ("influencer", "affiliate", "agency", "reseller", "referral")
TAIL_SIGMA = 0.9  # spread of the partners' activity (log-normal)
SUBJECTS = ["Quarterly review", "Pipeline check-in", "Joint account plan", "Enablement session", "Pricing"]
EMPTY = "{}"


@dataclass
class Budget:
    """A partner's events: how many, and how its weeks share them."""

    plan: PartnerPlan
    weeks: list[tuple[datetime.datetime, float]]  # (week start, engagement level) from its history start
    weight: float
    events: int = 0


def budgets(dice: Dice, plans: Sequence[PartnerPlan], total: int) -> list[Budget]:
    """Every partner's share of ``total`` events; the shares add up to ``total`` exactly (largest
    remainders). Partners with no engaged week (applicants, long-churned) get none."""
    out: list[Budget] = []
    for plan in plans:
        start = plan.history_start(dice.now)
        week, passed, weeks = dice.week_start(start), 0, []
        while week < dice.now:
            level, passed = engagement(plan.events, week + D(days=3), passed)
            if plan.partner.status == PartnerStatus.APPLICANT:
                level = min(level, 0.3)  # only what an applicant does: look around the portal
            weeks.append((week, min(level, 1.2)))
            week += D(days=7)
        tail = dice.rng.lognormvariate(0.0, TAIL_SIGMA)
        out.append(Budget(plan, weeks, tail * sum(level for _, level in weeks)))
    weight = sum(b.weight for b in out)
    if weight <= 0:
        return out
    shares = [total * b.weight / weight for b in out]
    for budget, share in zip(out, shares, strict=True):
        budget.events = math.floor(share)
    left = total - sum(b.events for b in out)
    by_remainder = sorted(range(len(out)), key=lambda i: (shares[i] - out[i].events, -i), reverse=True)
    for index in by_remainder[:left]:
        out[index].events += 1
    return out


DAY = 86_400
WORKDAY_START, WORKDAY = 6 * 3_600, 15 * 3_600  # events happen between 06:00 and 21:00 UTC


def _json_list(key: str, values: Sequence[str]) -> list[str]:
    return [json.dumps({key: value}, separators=(",", ":")) for value in values]


NOTES, DOWNLOADS = _json_list("subject", SUBJECTS), _json_list("resource", RESOURCES)
TRAININGS, CERTIFICATIONS = _json_list("course", COURSES), _json_list("certification", COURSES)


class _Partner:
    """The rows of one partner (see ``partner_rows``). Times are whole seconds since the epoch (cheap to
    draw and add) until a row is made."""

    def __init__(
        self,
        budget: Budget,
        rng: random.Random,
        now: datetime.datetime,
        workspace_id: int,
        when: Callable[[datetime.datetime], Any],
    ) -> None:
        plan = budget.plan
        self.rng, self.when, self.workspace_id = rng, when, workspace_id
        self.now = int(now.timestamp()) - 60
        self.start = int(plan.history_start(now).timestamp())
        self.partner_id = plan.partner.pk
        self.key = f"s-{plan.partner.public_id.hex[:12]}-"
        self.contacts: list[int | None] = [c.pk for c in plan.contacts] or [None]
        self.owner = plan.partner.owner_id
        self.left = budget.events
        self.counter = 0
        self.followers = rng.randint(2_000, 80_000)
        weights = dict(TYPE_WEIGHTS)
        if plan.type_key in CREATORS:
            weights["content_post"] = CREATOR_POSTS
        if plan.type_key not in CAMPAIGNERS:
            del weights["campaign_deliverable_due"]
        self.types = list(weights)
        self.cum = list(itertools.accumulate(weights.values()))
        self.rows: list[tuple[Any, ...]] = []

    def add(
        self,
        type_key: str,
        at: int,
        direction: str = "",
        contact: bool = False,
        properties: str = EMPTY,
        source: str = "api",
        value: int | None = None,
    ) -> bool:
        """One event (clamped into the history window); False once the partner's budget is spent."""
        if self.left <= 0:
            return False
        self.left -= 1
        self.counter += 1
        at = self.start if at < self.start else self.now if at > self.now else at
        stamp = self.when(datetime.datetime.fromtimestamp(at, datetime.UTC))
        if contact:
            contact_id, user_id = self.contacts[int(self.rng.random() * len(self.contacts))], self.owner
        else:
            contact_id, user_id = None, self.owner if type_key == "note" else None
        self.rows.append(
            (
                self.workspace_id,
                self.partner_id,
                f"{self.key}{self.counter}",
                type_key,
                stamp,
                stamp,
                contact_id,
                user_id,
                direction,
                value,
                properties,
                source,
            )
        )
        return True

    def moment(self, week: int) -> int:
        """A time in the week starting at ``week``: any day, during the day."""
        spot = self.rng.random() * 7
        day = int(spot)
        return week + day * DAY + WORKDAY_START + int((spot - day) * WORKDAY)

    def pick(self, options: list[str]) -> str:
        return options[int(self.rng.random() * len(options))]

    def event(self, week: int, level: float) -> None:
        """One opener of the week and what follows it."""
        rng = self.rng
        type_key = self.types[bisect.bisect(self.cum, rng.random() * self.cum[-1])]
        at = self.moment(week)
        if type_key == "portal_login":
            self.add(type_key, at)
        elif type_key in ("email_sent", "email_received"):
            self.thread(type_key, at, level)
        elif type_key in ("call", "meeting"):
            direction = "outbound" if rng.random() < 0.7 else "inbound"
            self.add(type_key, at, direction, True, self.pick(NOTES), "ui")
        elif type_key == "note":
            self.add("note", at, "", False, self.pick(NOTES), "ui")
        elif type_key == "resource_download":
            self.add(type_key, at, "", False, self.pick(DOWNLOADS))
        elif type_key == "training_started":
            self.training(at, level)
        elif type_key == "support_ticket_opened":
            self.ticket(at)
        elif type_key == "campaign_deliverable_due":
            self.deliverable(at, level)
        elif type_key == "survey_response":
            score = max(0, min(10, round(rng.gauss(6 + 2.5 * min(level, 1.0), 1.8))))
            self.add(type_key, at, "", False, '{"survey":"nps"}', "api", score)
        elif type_key == "content_post":
            self.post(at, level)
        else:
            self.add(type_key, at)

    def thread(self, type_key: str, at: int, level: float) -> None:
        rng = self.rng
        thread = f'{{"thread_id":"{self.key}t{self.counter}"}}'
        outbound = type_key == "email_sent"
        if not self.add(type_key, at, "outbound" if outbound else "inbound", True, thread, "ui"):
            return
        if outbound and rng.random() < 0.7 * min(level, 1.0):
            delay = 3_600 + int(rng.random() * 172_800 / max(level, 0.2))
            self.add("email_received", at + delay, "inbound", True, thread)
        elif not outbound and rng.random() < 0.85:
            self.add("email_sent", at + 1_200 + int(rng.random() * 85_200), "outbound", True, thread, "ui")

    def training(self, at: int, level: float) -> None:
        rng = self.rng
        course = int(rng.random() * len(COURSES))
        self.add("training_started", at, "", False, TRAININGS[course])
        if rng.random() < 0.75 * min(level, 1.0):
            completed = at + DAY + int(rng.random() * 20 * DAY)
            self.add("training_completed", completed, "", False, TRAININGS[course])
            if rng.random() < 0.35:
                earned = completed + int(rng.random() * 10 * DAY)
                self.add("certification_earned", earned, "", False, CERTIFICATIONS[course], "integration")

    def ticket(self, at: int) -> None:
        ticket = f'{{"ticket_id":"T{self.key}{self.counter}"}}'
        self.add("support_ticket_opened", at, "", False, ticket, "integration")
        if self.rng.random() < 0.92:
            resolved = at + 1_800 + int(self.rng.random() * 6 * DAY)
            self.add("support_ticket_resolved", resolved, "", False, ticket, "integration")

    def deliverable(self, at: int, level: float) -> None:
        rng = self.rng
        deliverable = f'{{"deliverable_id":"D{self.key}{self.counter}"}}'
        due = at + 14 * DAY
        self.add("campaign_deliverable_due", due, "", False, deliverable)
        if rng.random() < 0.85 * min(level, 1.0):
            late = rng.random() < 0.25
            hours = rng.randint(4, 240) if late else -rng.randint(2, 200)
            submitted = due + hours * 3_600
            self.add("campaign_deliverable_submitted", submitted, "", False, deliverable)
            if rng.random() < 0.85:
                approved = submitted + int(rng.random() * 4 * DAY)
                self.add("campaign_deliverable_approved", approved, "", False, deliverable)

    def post(self, at: int, level: float) -> None:
        rng = self.rng
        self.followers = max(100, int(self.followers * rng.uniform(0.995, 1.0 + 0.012 * level)))
        reach = int(self.followers * rng.uniform(0.1, 0.6))
        impressions = int(reach * rng.uniform(1.1, 2.2))
        properties = {
            "channel": self.pick(CHANNELS),
            "reach": reach,
            "impressions": impressions,
            "engagements": int(impressions * rng.uniform(0.01, 0.08)),
            "followers": self.followers,
        }
        self.add("content_post", at, "", False, json.dumps(properties, separators=(",", ":")))


def partner_rows(
    budget: Budget,
    *,
    rng: random.Random,
    now: datetime.datetime,
    workspace_id: int,
    when: Callable[[datetime.datetime], Any],
) -> list[tuple[Any, ...]]:
    """Exactly ``budget.events`` rows of one partner, its weeks in order (cumulative rounding of its
    share by engagement level: the weeks add up to the budget)."""
    partner = _Partner(budget, rng, now, workspace_id, when)
    levels = sum(level for _, level in budget.weeks)
    if budget.events <= 0 or levels <= 0:
        return []
    running = 0.0
    for week, level in budget.weeks:
        running += level
        due = round(budget.events * running / levels)
        start = int(week.timestamp())
        while partner.left > 0 and budget.events - partner.left < due:
            partner.event(start, level)
    last, level = budget.weeks[-1]
    while partner.left > 0:  # the last week's rounding leaves none over; exact whatever happens
        partner.event(int(last.timestamp()), level)
    return partner.rows


def event_rows(
    budgets_: Sequence[Budget],
    *,
    rng: random.Random,
    now: datetime.datetime,
    workspace_id: int,
    when: Callable[[datetime.datetime], Any],
    chunk: int,
) -> Iterator[list[tuple[Any, ...]]]:
    """The events of every partner, in chunks of about ``chunk`` rows (a partner's rows stay together)."""
    pending: list[tuple[Any, ...]] = []
    for budget in budgets_:
        pending += partner_rows(budget, rng=rng, now=now, workspace_id=workspace_id, when=when)
        if len(pending) >= chunk:
            yield pending
            pending = []
    if pending:
        yield pending
