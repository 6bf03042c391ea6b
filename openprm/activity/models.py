"""Events (everything partners do), referral tracking (links, clicks, coupons, conversions) and the
per-partner daily rollups that pages read instead of raw events.

High-volume tables (``Event``, ``Click``, ``PartnerDay``) are append-only or upsert-only, carry
``workspace_id`` and ``partner_id`` and have no database foreign-key constraints (bulk paths write them
with COPY / executemany; deletes cascade in Django). Unique constraints lead with ``workspace``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from django.conf import settings
from django.db import models

from openprm.core.models import TimestampedModel, Workspace, WorkspaceModel
from openprm.core.scoping import ScopedManager
from openprm.partners.models import Contact, Partner, Program


def _fk(to: type[models.Model] | str, *, null: bool = False, index: bool = True) -> models.ForeignKey:
    """A foreign key without a database constraint (Django still cascades deletes)."""
    return models.ForeignKey(
        to,
        on_delete=models.SET_NULL if null else models.CASCADE,
        null=null,
        blank=null,
        related_name="+",
        db_constraint=False,
        db_index=index,
    )


class EventType(WorkspaceModel):
    """A workspace's own event type, next to the built-in catalog (``catalog.BUILTIN_TYPES``)."""

    key = models.CharField(max_length=60)
    label = models.CharField(max_length=120)
    category = models.CharField(max_length=30, default="custom")
    contact = models.BooleanField(default=False, help_text="Communication with the partner")
    qualifying = models.BooleanField(default=True, help_text="Counts towards the active-partner share")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="eventtype_unique_key")]
        ordering = ["key"]

    def __str__(self) -> str:
        return self.label


class Event(models.Model):
    """Something a partner did or that happened with a partner. Append-only.

    ``event_id`` is the client's id (unique per workspace): a re-sent event is recognised and never
    stored twice. ``direction``: inbound = partner → us, outbound = us → partner, "" where it does not
    apply. ``actor`` is a contact of the partner or a user (either may be empty).
    """

    class Source(models.TextChoices):
        API = "api", "API"
        CSV = "csv", "CSV import"
        UI = "ui", "Logged in the app"
        INTEGRATION = "integration", "Integration"

    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    actor_contact = _fk(Contact, null=True, index=False)
    actor_user = _fk(settings.AUTH_USER_MODEL, null=True, index=False)
    direction = models.CharField(max_length=8, blank=True)
    value = models.DecimalField(max_digits=20, decimal_places=4, null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.API)

    objects = ScopedManager["Event"]()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "event_id"], name="event_unique_id")]
        indexes = [models.Index(fields=["workspace", "partner", "occurred_at"], name="event_partner_time")]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class EventChange(models.Model):
    """An event changed after it was stored (an interaction corrected or deleted; events are otherwise
    append-only): what readers that keep something an event earned re-read — the commission accrual
    re-evaluates the events changed since its last run and closes what a deleted one earned. Staff-only;
    ``event_pk`` has no constraint (a deleted event's id stays here), ``occurred_at`` is the event's
    moment before the change."""

    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    event_pk = models.BigIntegerField()
    occurred_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    deleted = models.BooleanField(default=False)

    objects = ScopedManager["EventChange"]()
    SCOPE_STAFF_ONLY: ClassVar[bool] = True

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "changed_at"], name="eventchange_time"),
            models.Index(fields=["workspace", "event_pk"], name="eventchange_event"),
        ]

    def __str__(self) -> str:
        return f"event {self.event_pk} {'deleted' if self.deleted else 'changed'}"


def _count() -> models.IntegerField:
    return models.IntegerField(null=True, blank=True)


def _amount() -> models.DecimalField:
    return models.DecimalField(max_digits=24, decimal_places=4, null=True, blank=True)


class RollupFigures(models.Model):
    """The metric columns that ``PartnerDay`` and ``PartnerMonth`` share (NULL is 0)."""

    events_total = _count()  # every event, whatever its type
    events_portal_login = _count()
    events_resource_download = _count()
    events_training_started = _count()
    events_training_completed = _count()
    events_certification_earned = _count()
    events_certification_expired = _count()
    events_meeting = _count()
    events_email_sent = _count()
    events_email_received = _count()
    events_call = _count()
    events_note = _count()
    events_support_ticket_opened = _count()
    events_support_ticket_resolved = _count()
    events_campaign_deliverable_due = _count()
    events_campaign_deliverable_submitted = _count()
    events_campaign_deliverable_approved = _count()
    events_content_post = _count()
    events_survey_response = _count()
    value_portal_login = _amount()
    value_resource_download = _amount()
    value_training_started = _amount()
    value_training_completed = _amount()
    value_certification_earned = _amount()
    value_certification_expired = _amount()
    value_meeting = _amount()
    value_email_sent = _amount()
    value_email_received = _amount()
    value_call = _amount()
    value_note = _amount()
    value_support_ticket_opened = _amount()
    value_support_ticket_resolved = _amount()
    value_campaign_deliverable_due = _amount()
    value_campaign_deliverable_submitted = _amount()
    value_campaign_deliverable_approved = _amount()
    value_content_post = _amount()
    value_survey_response = _amount()
    contact = _count()
    contact_inbound = _count()
    contact_outbound = _count()
    content_reach = _amount()
    content_impressions = _amount()
    content_engagements = _amount()
    content_followers = _amount()  # a gauge: the day's largest audience reported
    clicks = _count()
    conversions_signup = _count()
    conversions_signup_amount = _amount()
    conversions_purchase = _count()
    conversions_purchase_amount = _amount()
    conversions_recurring_payment = _count()
    conversions_recurring_payment_amount = _amount()
    conversions_refund = _count()
    conversions_refund_amount = _amount()
    reply_partner_count = _count()
    reply_partner_seconds = models.BigIntegerField(null=True, blank=True)
    reply_vendor_count = _count()
    reply_vendor_seconds = models.BigIntegerField(null=True, blank=True)
    ticket_resolved_count = _count()
    ticket_resolved_seconds = models.BigIntegerField(null=True, blank=True)
    deliverable_on_time = _count()
    deliverable_late = _count()
    survey_responses = _count()  # survey_response events with a value (a 0–10 score)
    survey_score = _amount()  # the sum of their scores
    survey_promoters = _count()  # scores of 9 or more
    survey_detractors = _count()  # scores of 6 or less

    class Meta:
        abstract = True


class PartnerDay(RollupFigures):
    """The rollups of one partner on one (UTC) day: one row, the metrics in columns — per built-in event
    type its count (``events_<type>``) and value sum (``value_<type>``), contact, content, clicks,
    conversions per kind, the paired figures, the survey figures — and ``extra`` for the rest (the
    workspace's own event types: ``{"events.<type>": n, "value.<type>": x}``). A metric's column is its
    name with dots as underscores (``events.*``: ``events_total``); ``activity.rollups.columns`` maps the
    two. NULL is 0.

    Maintained incrementally by every write that feeds it (``activity.rollups``) and rebuildable from the
    raw rows (`prm rollups rebuild`). No surrogate key: the primary key is (workspace, partner, day)."""

    pk = models.CompositePrimaryKey("workspace_id", "partner_id", "day")
    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    day = models.DateField()
    extra = models.JSONField(null=True, blank=True)

    objects = ScopedManager["PartnerDay"]()

    class Meta:
        indexes = [
            # the certification stock (earned − expired since ever) reads only these few rows
            models.Index(
                fields=["workspace", "partner", "day"],
                include=["events_certification_earned", "events_certification_expired"],  # index-only
                name="partnerday_certifications",
                condition=models.Q(events_certification_earned__gt=0)
                | models.Q(events_certification_expired__gt=0),
            )
        ]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.day}"


class PartnerMonth(RollupFigures):
    """``PartnerDay`` summed per calendar month (``month``: its first day), without ``extra`` (the
    workspace's own types stay day-level): the additive columns are the sums of the month's days, the
    gauges (``content.followers``) their largest value. Reads over whole months take these rows instead
    of every day's. Never updated by deltas: every writer of ``PartnerDay`` re-aggregates the months it
    touched from their days (``activity.rollups.months``), so a month always equals its days."""

    pk = models.CompositePrimaryKey("workspace_id", "partner_id", "month")
    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    month = models.DateField()

    objects = ScopedManager["PartnerMonth"]()

    def __str__(self) -> str:
        return f"{self.partner_id} {self.month}"


class PairedInterval(models.Model):
    """A reply, ticket resolution or campaign delivery interval (``activity.pairing``), on the day it
    ended: derived from events by the job worker, kept for exact medians."""

    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    kind = models.CharField(max_length=30)
    day = models.DateField()
    seconds = models.BigIntegerField()

    objects = ScopedManager["PairedInterval"]()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "partner", "kind", "day"], name="interval_partner_kind_day")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.seconds}s"


class RollupState(models.Model):
    """The fill state of a workspace's rollups."""

    class Status(models.TextChoices):
        READY = "ready", "Up to date"
        REBUILDING = "rebuilding", "Rebuilding"

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.READY)
    filled_at = models.DateTimeField(null=True, blank=True, help_text="Last incremental update")
    rebuilt_at = models.DateTimeField(null=True, blank=True, help_text="Last full rebuild")
    responses_at = models.DateTimeField(null=True, blank=True, help_text="Last response-time refresh")

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    objects = ScopedManager["RollupState"]()

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.status}"


class RollupPending(models.Model):
    """Stored events or clicks whose rollup deltas the job worker has yet to add.

    Written in the writer's own transaction (one small row instead of upserts on the request path — for a
    click, instead of every visitor of a link queueing on the same rollup row) and deleted in the
    transaction that applies it, so each event and click is counted exactly once.
    ``event_ranges``: [[first id, last id], ...]; ``click_ids``: [id, ...]."""

    workspace = _fk(Workspace)
    created_at = models.DateTimeField(auto_now_add=True)
    event_ranges = models.JSONField(default=list)
    click_ids = models.JSONField(default=list)

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["RollupPending"]()

    def __str__(self) -> str:
        return f"pending {self.pk}: events {self.event_ranges}"


class RollupDirty(models.Model):
    """Partners whose response-time rollups must be recomputed from ``since`` on (contact events arrived;
    pairing messages depends on their order, so it is recomputed rather than added to)."""

    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    since = models.DateField()

    SCOPE_PARTNER_PATH: ClassVar[str | None] = None
    SCOPE_STAFF_ONLY: ClassVar[bool] = True
    objects = ScopedManager["RollupDirty"]()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "partner"], name="rollupdirty_unique")]

    def __str__(self) -> str:
        return f"{self.partner_id} since {self.since}"


# --- referral tracking ---------------------------------------------------------------------------------


class TrackingLink(TimestampedModel):
    """A partner's tracking link: ``/r/<code>`` records a click and redirects to ``destination``."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="tracking_links")
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    code = models.SlugField(max_length=64, unique=True)  # global: /r/<code> carries no workspace
    destination = models.URLField(max_length=2000)
    campaign = models.CharField(max_length=120, blank=True)
    utm_source = models.CharField(max_length=120, blank=True)
    utm_medium = models.CharField(max_length=120, blank=True)
    utm_campaign = models.CharField(max_length=120, blank=True)
    utm_term = models.CharField(max_length=120, blank=True)
    utm_content = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)

    objects = ScopedManager["TrackingLink"]()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.code


class Click(models.Model):
    """A recorded visit of a tracking link. Append-only; ``click_id`` is passed on to the destination."""

    workspace = _fk(Workspace, index=False)
    partner = _fk(Partner, index=False)
    link = _fk(TrackingLink, index=False)
    click_id = models.CharField(max_length=32)  # unique by the constraint below (no pattern index)
    clicked_at = models.DateTimeField()
    ip_hash = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    referrer = models.CharField(max_length=1000, blank=True)

    objects = ScopedManager["Click"]()

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "partner", "clicked_at"], name="click_partner_time"),
            models.Index(fields=["workspace", "ip_hash", "clicked_at"], name="click_ip_time"),
        ]
        # A constraint, not unique=True: PostgreSQL then has no second (LIKE pattern) index on the
        # column to write on every redirect; nothing searches click ids by prefix.
        constraints = [models.UniqueConstraint(fields=["click_id"], name="click_unique_click_id")]
        ordering = ["-clicked_at", "-id"]

    def __str__(self) -> str:
        return self.click_id


class Coupon(TimestampedModel):
    """A partner's coupon code; a conversion that carries it is attributed to the partner."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="coupons")
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    code = models.CharField(max_length=64)  # stored upper-case
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)

    objects = ScopedManager["Coupon"]()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "code"], name="coupon_unique_code")]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Conversion(TimestampedModel):
    """A signup, purchase, recurring payment or refund reported by the vendor's systems, attributed to a
    partner (by click, link code or coupon) or left unattributed. Flagged conversions await review."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Signup"
        PURCHASE = "purchase", "Purchase"
        RECURRING = "recurring_payment", "Recurring payment"
        REFUND = "refund", "Refund"

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        FLAGGED = "flagged", "Flagged for review"
        REJECTED = "rejected", "Rejected"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal(0))
    currency = models.CharField(max_length=3, default="USD")
    customer_external_id = models.CharField(max_length=200, blank=True)
    customer_email_hash = models.CharField(max_length=64, blank=True)
    click = models.ForeignKey(Click, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    link = models.ForeignKey(TrackingLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    refund_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    attributed_by = models.CharField(max_length=20, blank=True)  # first_click, last_click, link, coupon, ...
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    flags = models.JSONField(default=list, blank=True)  # [{"rule": ..., "detail": ...}]
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, blank=True)  # a retry must repeat the same request
    properties = models.JSONField(default=dict, blank=True)

    objects = ScopedManager["Conversion"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "idempotency_key"], name="conversion_unique_key")
        ]
        indexes = [
            models.Index(fields=["workspace", "partner", "occurred_at"], name="conversion_partner_time"),
            models.Index(fields=["workspace", "customer_external_id"], name="conversion_customer_id"),
            models.Index(fields=["workspace", "customer_email_hash"], name="conversion_customer_email"),
            models.Index(fields=["workspace", "status", "occurred_at"], name="conversion_status_time"),
            # the accrual's catch-up: what changed since its last run
            models.Index(fields=["workspace", "updated_at"], name="conversion_changed"),
        ]
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency}"
