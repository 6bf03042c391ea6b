"""Demo referral data: tracking links, coupons, a year of clicks and the conversions they led to.

Deterministic for a seed. Clicks follow a long-tailed share per partner (a few partners bring most of the
traffic), weekday-heavy; about 4% of clicks sign up, a third of signups buy, buyers pay monthly until now and
a few ask for a refund. A handful of conversions trip the fraud rules (coupon without a click, a partner's
own domain, nobody to attribute) and wait in the review queue.

Links, coupons and the allowed destination host are made by activity's services. Clicks and conversions
happened in the past, which activity's services cannot record (``click_record`` stores a visitor's click
now; ``conversion_record`` attributes a conversion reported now against stored clicks), so they are written
here in bulk (COPY / executemany for clicks, ``bulk_create`` for conversions), attributed by the real
``attribution.attribute``, and their rollup deltas are added through ``rollups_add`` in the same
transaction.
"""

from __future__ import annotations

import dataclasses
import datetime
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction

from openprm.activity import attribution
from openprm.activity.models import Click, Conversion, Coupon, TrackingLink
from openprm.activity.rollups import click_deltas, conversion_deltas, rollups_add
from openprm.activity.services.referrals import (
    CODE_ALPHABET,
    CouponInput,
    LinkInput,
    coupon_create,
    ip_hash,
    link_create,
    tracking_hosts_set,
)
from openprm.core.actors import Actor
from openprm.core.bulk import FastTable, uuid4_hex
from openprm.core.models import Workspace
from openprm.core.scoping import scope, unscoped
from openprm.partners.models import Partner, Program

CLICKS_PER_PARTNER = 120  # on average, across the partners with links
SIGNUP_RATE = 0.04
PURCHASE_RATE = 0.35
REFUND_RATE = 0.05
PLANS = [Decimal("29.00"), Decimal("49.00"), Decimal("99.00"), Decimal("249.00")]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
]
REFERRERS = [
    "",
    "https://www.google.com/",
    "https://t.co/",
    "https://www.linkedin.com/",
    "https://news.ycombinator.com/",
]
PAGES = ["/", "/pricing", "/signup", "/features", "/blog/partner-launch"]
VENDOR_HOST = "vendor.example"
CLICK_COLUMNS = [
    "workspace_id",
    "partner_id",
    "link_id",
    "click_id",
    "clicked_at",
    "ip_hash",
    "user_agent",
    "referrer",
]


def _code(rng: random.Random, taken: set[str]) -> str:
    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
        if code not in taken:
            taken.add(code)
            return code


def _plan_links(
    rng: random.Random, tracked: list[Partner], program: Program | None, taken: set[str]
) -> list[LinkInput]:
    """One to three links per tracked partner, to pages of the vendor's site."""
    return [
        {
            "partner_id": partner.pk,
            "program_id": program.pk if program else None,
            "code": _code(rng, taken),
            "destination": f"https://www.vendor.example{rng.choice(PAGES)}",
            "campaign": rng.choice(["", "newsletter", "webinar", "launch", "blog"]),
            "utm_source": "partner",
            "utm_medium": rng.choice(["referral", "email", "social"]),
            "utm_campaign": f"p{index}",
        }
        for index, partner in enumerate(tracked)
        for _ in range(rng.choice([1, 1, 2, 3]))
    ]


def _plan_coupons(rng: random.Random, tracked: list[Partner], program: Program | None) -> list[CouponInput]:
    return [
        {
            "partner_id": partner.pk,
            "program_id": program.pk if program else None,
            "code": f"P{index:04d}{rng.choice(['SAVE10', 'WELCOME', 'VIP'])}",
            "description": "Partner discount",
        }
        for index, partner in enumerate(tracked)
        if rng.random() < 0.3
    ]


def _allow_vendor_site(actor: Actor, workspace: Workspace) -> None:
    """The demo links lead to www.vendor.example: the workspace allows that host (and its subdomains)."""
    hosts = list(Workspace.objects.get(pk=workspace.pk).tracking_allowed_hosts or [])
    if VENDOR_HOST not in hosts:
        workspace.tracking_allowed_hosts = tracking_hosts_set(actor=actor, hosts=[*hosts, VENDOR_HOST])


def demo_referrals_load(
    *, workspace: Workspace, partners: list[Partner], seed: int, now: datetime.datetime
) -> dict[str, int]:
    """Load the referral demo data for ``partners`` of ``workspace``; returns counts per kind of row.

    Links, coupons and the allowed host are made by activity's services (validated and audited, as an
    admin's); clicks and conversions, which happened in the past, are written here (see the docstring)."""
    actor = Actor.system(workspace.pk, label="demo")
    with scope(actor.access_scope()), transaction.atomic():
        return _load(actor, workspace, partners, random.Random(seed), now)


def _load(
    actor: Actor, workspace: Workspace, partners: list[Partner], rng: random.Random, now: datetime.datetime
) -> dict[str, int]:
    program = Program.objects.order_by("-is_default", "name").first()
    with unscoped():  # link codes are global: /r/<code> carries no workspace
        taken = set(TrackingLink.objects.values_list("code", flat=True))
    rules: dict[int | None, attribution.Rule] = {
        p.pk: attribution.Rule(p.attribution_model, p.attribution_window_days) for p in Program.objects.all()
    }
    if program is not None:
        rules[None] = rules[program.pk]
    tracked = [p for p in partners if rng.random() < 0.7]
    link_data = _plan_links(rng, tracked, program, taken)
    coupon_data = _plan_coupons(rng, tracked, program)
    weights = {data["partner_id"]: rng.paretovariate(1.2) for data in link_data}
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(5000)]
    hashes = [ip_hash(ip) for ip in ips]

    _allow_vendor_site(actor, workspace)
    links = [link_create(actor=actor, data=data) for data in link_data]
    coupons = [coupon_create(actor=actor, data=data) for data in coupon_data]
    by_partner: defaultdict[int, list[TrackingLink]] = defaultdict(list)
    for link in links:
        by_partner[link.partner_id].append(link)
    clicks, touches = _clicks(rng, workspace, program, by_partner, weights, hashes, now)
    conversions = _conversions(rng, workspace, touches, coupons, rules, now)
    Conversion.objects.bulk_create(conversions)
    refunds = _refunds(rng, workspace, conversions, now)
    Conversion.objects.bulk_create(refunds)
    every = [*conversions, *refunds]
    sums = click_deltas(clicks)
    for cell, value in conversion_deltas(
        (c.partner_id, c.kind, c.occurred_at, c.amount, c.status) for c in every
    ).items():
        sums[cell] += value
    rollups_add(workspace_id=workspace.pk, sums=sums)
    return {
        "links": len(links),
        "coupons": len(coupons),
        "clicks": len(clicks),
        "conversions": len(every),
        "flagged": sum(1 for c in every if c.status == Conversion.Status.FLAGGED),
    }


def _clicks(
    rng: random.Random,
    workspace: Workspace,
    program: Program | None,
    by_partner: dict[int, list[TrackingLink]],
    weights: dict[int, float],
    hashes: list[str],
    now: datetime.datetime,
) -> tuple[list[tuple[int, datetime.datetime]], list[attribution.Touch]]:
    """A year of clicks on the links, a long-tailed share per partner, weekday-heavy; returns (partner id,
    time) of each and the touches attribution needs. Written directly (COPY / executemany): the redirect's
    ``click_record`` stores one click of a visitor "now", with its own fold."""
    table = FastTable(Click, CLICK_COLUMNS, with_ids=True)
    budget, total_weight = CLICKS_PER_PARTNER * len(weights), sum(weights.values()) or 1.0
    rows: list[list[Any]] = []
    touches: list[attribution.Touch] = []
    for partner_id, partner_links in by_partner.items():
        count = min(max(1, round(budget * weights[partner_id] / total_weight)), 4000)
        for click_pk in table.ids(count):
            link = rng.choice(partner_links)
            at = now - datetime.timedelta(seconds=rng.randrange(365 * 86400))
            if at.weekday() >= 5 and rng.random() < 0.5:
                at -= datetime.timedelta(days=2)
            visitor = [rng.choice(hashes), rng.choice(AGENTS), rng.choice(REFERRERS)]
            rows.append([click_pk, workspace.pk, partner_id, link.pk, uuid4_hex(), at, *visitor])
            touches.append(attribution.Touch(click_pk, partner_id, program.pk if program else None, at))
    clicks = [(row[2], row[5]) for row in rows]
    table.insert(rows)
    return clicks, touches


def _refunds(
    rng: random.Random, workspace: Workspace, conversions: list[Conversion], now: datetime.datetime
) -> list[Conversion]:
    """A few accepted purchases are refunded within 20 days."""
    return [
        Conversion(
            workspace=workspace,
            partner_id=c.partner_id,
            program_id=c.program_id,
            kind=Conversion.Kind.REFUND,
            occurred_at=min(now, c.occurred_at + datetime.timedelta(days=rng.randrange(1, 20))),
            amount=c.amount,
            currency=c.currency,
            customer_external_id=c.customer_external_id,
            click_id=c.click_id,
            refund_of=c,
            attributed_by=attribution.BY_REFUND,
            status=c.status,
            idempotency_key=f"demo-refund-{c.idempotency_key}",
        )
        for c in conversions
        if c.kind == Conversion.Kind.PURCHASE
        and c.status == Conversion.Status.ACCEPTED
        and rng.random() < REFUND_RATE
    ]


def _conversion(workspace: Workspace, decision: attribution.Decision, key: str, **values: Any) -> Conversion:
    flags = list(decision.flags)
    return Conversion(
        workspace=workspace,
        partner_id=decision.partner_id,
        program_id=decision.program_id,
        click_id=decision.click_pk,
        attributed_by=decision.attributed_by,
        status=Conversion.Status.FLAGGED if flags else Conversion.Status.ACCEPTED,
        flags=[f.as_json() for f in flags],
        idempotency_key=key,
        currency=workspace.currency,
        **values,
    )


class _Conversions:
    """The conversions of a year of clicks, attributed by ``attribution.attribute`` as they would be when
    reported: about 4% of clicks sign up, a third of signups buy and pay monthly; coupons bring purchases
    without a click; a few conversions nobody can be credited with."""

    def __init__(
        self,
        rng: random.Random,
        workspace: Workspace,
        rules: dict[int | None, attribution.Rule],
        now: datetime.datetime,
    ) -> None:
        self.rng, self.workspace, self.rules, self.now = rng, workspace, rules, now
        self.out: list[Conversion] = []

    def add(self, decision: attribution.Decision, key: str, **values: Any) -> None:
        self.out.append(_conversion(self.workspace, decision, key, **values))

    def signup(self, touch: attribution.Touch, customer: str) -> None:
        """A visitor of ``touch`` signs up within three days (now and then a partner's own staff)."""
        rng, now = self.rng, self.now
        signed_up = min(now, touch.at + datetime.timedelta(hours=rng.uniform(0.1, 72)))
        explicit = dataclasses.replace(touch, explicit=True)
        decision = attribution.attribute(
            attribution.Evidence(occurred_at=signed_up, rules=self.rules, explicit_click=explicit)
        )
        facts = attribution.FraudFacts(partner_has_click=True)
        if rng.random() < 0.01:  # the partner signed up its own staff
            facts = attribution.FraudFacts(
                customer_email_domain="partner.example", partner_domains=frozenset({"partner.example"})
            )
        decision = dataclasses.replace(
            decision, flags=(*decision.flags, *attribution.fraud_flags(decision, facts))
        )
        kind = Conversion.Kind.SIGNUP
        self.add(
            decision,
            f"demo-{customer}-signup",
            kind=kind,
            occurred_at=signed_up,
            customer_external_id=customer,
        )
        if not decision.flags and rng.random() < PURCHASE_RATE:
            self.subscription(decision, touch, customer, signed_up)

    def subscription(
        self,
        decision: attribution.Decision,
        touch: attribution.Touch,
        customer: str,
        signed_up: datetime.datetime,
    ) -> None:
        """A purchase within 25 days of the signup, then a payment every 30 days (a year at most)."""
        rng, now = self.rng, self.now
        bought = min(now, signed_up + datetime.timedelta(days=rng.uniform(0, 25)))
        plan = rng.choice(PLANS)
        prior = attribution.Prior(decision.partner_id or 0, decision.program_id, signed_up, touch)
        paid, month, kind, key = bought, 0, Conversion.Kind.PURCHASE, f"demo-{customer}-purchase"
        while (paid < now and month <= 12) or month == 0:
            credited = attribution.attribute(
                attribution.Evidence(occurred_at=paid, rules=self.rules, priors=[prior])
            )
            self.add(credited, key, kind=kind, occurred_at=paid, amount=plan, customer_external_id=customer)
            paid, month = paid + datetime.timedelta(days=30), month + 1
            kind, key = Conversion.Kind.RECURRING, f"demo-{customer}-m{month}"

    def coupon_purchases(self, coupons: list[Coupon]) -> None:
        """Coupon-only purchases: no click, so flagged for review."""
        rng = self.rng
        for index, coupon in enumerate(coupons):
            for n in range(rng.randrange(0, 4)):
                decision = attribution.Decision(
                    coupon.partner.pk, coupon.program_id, None, attribution.BY_COUPON
                )
                decision = dataclasses.replace(
                    decision, flags=attribution.fraud_flags(decision, attribution.FraudFacts())
                )
                at = self.now - datetime.timedelta(days=rng.uniform(0, 90))
                self.add(
                    decision,
                    f"demo-coupon-{index}-{n}",
                    kind=Conversion.Kind.PURCHASE,
                    occurred_at=at,
                    amount=rng.choice(PLANS),
                    customer_external_id=f"demo-coupon-cust-{index}-{n}",
                    coupon=coupon,
                )

    def unattributed(self) -> None:
        """A few signups nobody can be credited with (flagged)."""
        nobody = attribution.Decision(None, None, None, "")
        flagged = dataclasses.replace(nobody, flags=attribution.fraud_flags(nobody, attribution.FraudFacts()))
        for n in range(self.rng.randrange(3, 8)):
            at = self.now - datetime.timedelta(days=self.rng.uniform(0, 60))
            kind = Conversion.Kind.SIGNUP
            self.add(
                flagged,
                f"demo-unattributed-{n}",
                kind=kind,
                occurred_at=at,
                customer_external_id=f"demo-anon-{n}",
            )


def _conversions(
    rng: random.Random,
    workspace: Workspace,
    touches: list[attribution.Touch],
    coupons: list[Coupon],
    rules: dict[int | None, attribution.Rule],
    now: datetime.datetime,
) -> list[Conversion]:
    conversions = _Conversions(rng, workspace, rules, now)
    serial = 0
    for touch in touches:
        if rng.random() < SIGNUP_RATE:
            serial += 1
            conversions.signup(touch, f"demo-cust-{serial:06d}")
    conversions.coupon_purchases(coupons)
    conversions.unattributed()
    return conversions.out
