"""Demo activity: 24 months of logged interactions and engagement events per partner, week by week at
the partner's engagement level (``plan.engagement``): healthy partners are in regular touch, log in,
download, train and certify, open and resolve tickets, deliver campaigns and answer surveys; declining ones
fade in the months before the downturn; churned ones go quiet. Influencers and affiliates also post content.

Engagement events are stored the way any event source's are: through activity's ingestion
(``events_ingest``: validated, stored once, rollups queued). Logged interactions are written directly
(``rows.event_writer``): they carry both the partner's contact and the staff member who logged them, and
no bulk path of activity stores that (``interactions.interaction_create`` is one at a time).
"""

from __future__ import annotations

import datetime
from typing import Any

from openprm.activity.services.events import MAX_BATCH, events_ingest
from openprm.core.actors import Actor
from openprm.demo.plan import D, Dice, PartnerPlan, engagement
from openprm.demo.words import (
    BODIES,
    CHANNELS,
    COURSES,
    DECLINE_NOTES,
    MONTHS,
    MOODS,
    RESOURCES,
    SUBJECTS,
    WEEKDAYS,
)
from openprm.partners.models import PartnerStatus

EVENT_COLUMNS = [
    "event_id",
    "partner_id",
    "type",
    "direction",
    "occurred_at",
    "actor_contact_id",
    "actor_user_id",
    "value",
    "properties",
    "source",
]
"""Generated interaction rows: Python values in this order."""
EventRow = tuple[Any, ...]
EventItem = dict[str, Any]  # an event as the ingestion API takes it
INTERACTION_TYPE = {("email", "inbound"): "email_received", ("email", "outbound"): "email_sent"}
KINDS = ["email", "call", "meeting", "note"]
KIND_CUM_WEIGHTS = [46, 66, 80, 100]


class _Interactions:
    """The logged interactions of one partner (see ``interactions``)."""

    def __init__(self, dice: Dice, plan: PartnerPlan, staff_ids: list[int]) -> None:
        self.dice, self.plan = dice, plan
        self.logged_by = plan.partner.owner_id or staff_ids[0]
        contact_ids = [c.pk for c in plan.contacts]
        self.contact_ids = contact_ids[:2] * 2 + contact_ids  # the main contacts get most of the traffic
        self.rows: list[EventRow] = []

    def add(self, at: datetime.datetime, kind: str, direction: str, subject: str, body: str = "") -> None:
        if at >= self.dice.now:
            return
        contact = None if kind == "note" else self.dice.rng.choice(self.contact_ids)
        type_key = INTERACTION_TYPE.get((kind, direction), kind)
        properties = {"subject": subject[:200], "body": body}
        direction = "" if direction == "internal" else direction
        event_id = f"ui-{self.dice.uid().hex}"
        row = (
            event_id,
            self.plan.partner.pk,
            type_key,
            direction,
            at,
            contact,
            self.logged_by,
            None,
            properties,
            "ui",
        )
        self.rows.append(row)

    def fill(self, template: str, at: datetime.datetime) -> str:
        if "{" not in template:
            return template
        rng = self.dice.rng
        return template.format(
            q=(at.month - 1) // 3 + 1,
            year=at.year,
            month=MONTHS[at.month - 1],
            customer=rng.choice(self.plan.customers) if "{customer}" in template else "",
            weekday=rng.choice(WEEKDAYS) if "{weekday}" in template else "",
            n=rng.randint(2, 9),
            mood=rng.choice(MOODS) if "{mood}" in template else "",
        )

    def application(self) -> None:
        """An applicant's history: the application e-mail and our review note."""
        p, applied = self.plan.partner, self.plan.events[0][0]
        body = "We would like to join your partner program."
        self.add(applied, "email", "inbound", f"Partner application from {p.name}", body)
        review_at = applied + self.dice.days(1, 5)
        self.add(review_at, "note", "internal", "Application review", "Checking fit and references.")

    def week(self, week: datetime.datetime, level: float, start: datetime.datetime) -> None:
        """One week's interactions at engagement ``level``: a Poisson number of contacts, e-mails with
        replies (we answer within hours; partners answer less as they disengage)."""
        dice, rng = self.dice, self.dice.rng
        seasonal = 0.6 if week.month in (8, 12) else 1.0
        for _ in range(dice.poisson(self.plan.activity / 4.35 * level * seasonal)):
            at = week + D(days=rng.randint(0, 4), hours=rng.randint(7, 17), minutes=rng.randint(0, 59))
            if at < start:
                continue
            kind = rng.choices(KINDS, cum_weights=KIND_CUM_WEIGHTS)[0]
            if kind == "note":
                subject = self.fill(rng.choice(SUBJECTS["note", "internal"]), at)
                self.add(at, "note", "internal", subject, self.fill(rng.choice(BODIES["note"]), at))
                continue
            inbound = rng.random() < (0.45 if kind == "email" else 0.2) * min(level, 1.0)
            direction = "inbound" if inbound else "outbound"
            subject = self.fill(rng.choice(SUBJECTS[kind, direction]), at)
            self.add(at, kind, direction, subject, self.fill(rng.choice(BODIES[kind]), at))
            if kind != "email":
                continue
            if inbound and rng.random() < 0.85:
                self.add(at + D(minutes=rng.randint(20, 1440)), "email", "outbound", f"Re: {subject}")
            elif not inbound and rng.random() < 0.7 * min(level, 1.0):
                delay = D(minutes=rng.randint(60, int(2880 / max(level, 0.2))))
                self.add(at + delay, "email", "inbound", f"Re: {subject}")


def interactions(dice: Dice, plan: PartnerPlan, staff_ids: list[int]) -> list[EventRow]:
    """The partner's logged interactions (source "ui", logged by its owner), oldest week first."""
    log, p = _Interactions(dice, plan, staff_ids), plan.partner
    if p.status == PartnerStatus.APPLICANT:
        log.application()
        return log.rows
    start = plan.history_start(dice.now)
    week, slide_noted, passed = dice.week_start(start), False, 0
    while week < dice.now:
        level, passed = engagement(plan.events, week + D(days=3), passed)
        log.week(week, level, start)
        if level < 0.6 and not slide_noted and p.status != PartnerStatus.ACTIVE:
            log.add(
                max(start, week + D(days=2, hours=16)), "note", "internal", dice.rng.choice(DECLINE_NOTES)
            )
            slide_noted = True
        week += D(days=7)
    if p.status == PartnerStatus.CHURNED:
        log.add(plan.events[-1][0], "note", "internal", "Partnership ended", "Offboarding completed.")
    return log.rows


class _Engagement:
    """The engagement events of one partner (see ``engagement_events``)."""

    def __init__(self, dice: Dice, plan: PartnerPlan) -> None:
        self.dice, self.plan = dice, plan
        p = plan.partner
        self.start = plan.history_start(dice.now)
        self.ended = plan.events[-1][0] if p.status == PartnerStatus.CHURNED else dice.now
        self.key = p.public_id.hex[:12]
        self.partner = str(p.public_id)
        self.counter = 0
        self.creator = plan.type_key in ("influencer", "affiliate")
        self.campaigns = plan.type_key in ("influencer", "affiliate", "agency", "reseller", "referral")
        self.followers = dice.rng.randint(2_000, 80_000) if self.creator else 0
        self.items: list[EventItem] = []

    def add(self, type_key: str, at: datetime.datetime, source: str = "api", **properties: Any) -> None:
        if self.start <= at < self.ended:
            self.counter += 1
            item: EventItem = {"event_id": f"demo-{self.key}-{self.counter}", "partner": self.partner}
            item["type"] = type_key
            item.update(occurred_at=at.isoformat(), source=source, properties=properties)
            if "value" in properties:
                item["value"] = properties.pop("value")
            self.items.append(item)

    def moment(self, week: datetime.datetime) -> datetime.datetime:
        rng = self.dice.rng
        return week + D(days=rng.randint(0, 6), hours=rng.randint(6, 20), minutes=rng.randint(0, 59))

    def training(self, week: datetime.datetime, level: float) -> None:
        rng = self.dice.rng
        course = rng.choice(COURSES)
        started = self.moment(week)
        self.add("training_started", started, course=course)
        if rng.random() < 0.75 * min(level, 1.0):
            completed = started + self.dice.days(1, 21)
            self.add("training_completed", completed, course=course)
            if rng.random() < 0.35:
                earned = completed + self.dice.days(0, 10)
                self.add("certification_earned", earned, source="integration", certification=course)
                expired = earned + D(days=365)
                self.add("certification_expired", expired, source="integration", certification=course)

    def ticket(self, week: datetime.datetime) -> None:
        rng = self.dice.rng
        ticket = f"T-{self.key}-{self.counter}"
        opened = self.moment(week)
        self.add("support_ticket_opened", opened, source="integration", ticket_id=ticket)
        if rng.random() < 0.92:
            resolved = opened + D(minutes=rng.randint(30, 60 * 24 * 6))
            self.add("support_ticket_resolved", resolved, source="integration", ticket_id=ticket)

    def deliverable(self, week: datetime.datetime, level: float) -> None:
        rng = self.dice.rng
        deliverable = f"D-{self.key}-{self.counter}"
        due = self.moment(week) + D(days=14)
        self.add("campaign_deliverable_due", due, deliverable_id=deliverable)
        if rng.random() < 0.85 * min(level, 1.0):
            late = rng.random() < 0.25
            submitted = due + (D(hours=rng.randint(4, 240)) if late else -D(hours=rng.randint(2, 200)))
            self.add("campaign_deliverable_submitted", submitted, deliverable_id=deliverable)
            if rng.random() < 0.85:
                approved = submitted + self.dice.days(0, 4)
                self.add("campaign_deliverable_approved", approved, deliverable_id=deliverable)

    def posts(self, week: datetime.datetime, level: float) -> None:
        rng = self.dice.rng
        for _ in range(self.dice.poisson(0.5 * level)):
            self.followers = max(100, int(self.followers * rng.uniform(0.995, 1.0 + 0.012 * level)))
            reach = int(self.followers * rng.uniform(0.1, 0.6))
            impressions = int(reach * rng.uniform(1.1, 2.2))
            self.add(
                "content_post",
                self.moment(week),
                channel=rng.choice(CHANNELS),
                reach=reach,
                impressions=impressions,
                engagements=int(impressions * rng.uniform(0.01, 0.08)),
                followers=self.followers,
            )

    def week(self, week: datetime.datetime, level: float) -> None:
        dice, rng = self.dice, self.dice.rng
        for _ in range(dice.poisson(0.6 * level)):
            self.add("portal_login", self.moment(week))
        for _ in range(dice.poisson(0.25 * level)):
            self.add("resource_download", self.moment(week), resource=rng.choice(RESOURCES))
        if rng.random() < 0.08 * level:
            self.training(week, level)
        if rng.random() < 0.1 * level:
            self.ticket(week)
        if self.campaigns and rng.random() < 0.08 * level:
            self.deliverable(week, level)
        if week.day <= 7 and week.month % 3 == 1 and rng.random() < 0.6 * min(level, 1.0):
            score = max(0, min(10, round(rng.gauss(6 + 2.5 * min(level, 1.0), 1.8))))
            self.add("survey_response", self.moment(week), survey="nps", value=score)
        if self.creator:
            self.posts(week, level)


def engagement_events(dice: Dice, plan: PartnerPlan) -> list[EventItem]:
    """The partner's engagement events over the history window (none for applicants), as ingestion items."""
    if plan.partner.status == PartnerStatus.APPLICANT:
        return []
    events = _Engagement(dice, plan)
    week, passed = dice.week_start(events.start), 0
    while week < dice.now:
        level, passed = engagement(plan.events, week + D(days=3), passed)
        level = min(level, 1.2)
        if level > 0.01:
            events.week(week, level)
        week += D(days=7)
    return events.items


def engagement_ingest(*, actor: Actor, items: list[EventItem]) -> int:
    """Store engagement events through activity's ingestion, a batch at a time; every one must be stored
    (a rejected demo event is a bug in the generator, not data to skip)."""
    stored = 0
    for start in range(0, len(items), MAX_BATCH):
        batch = items[start : start + MAX_BATCH]
        result = events_ingest(actor=actor, items=batch, atomic=True)
        if result.refused or result.stored != len(batch):
            errors = [e.as_dict() for e in result.errors[:3]]
            raise RuntimeError(f"The demo's events were refused ({result.duplicates} duplicates): {errors}")
        stored += result.stored
    return stored
