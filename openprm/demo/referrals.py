"""Demo referral data: tracking links, coupons, a year of clicks and the conversions they led to.

Deterministic for a seed. Clicks follow a long-tailed share per partner (a few partners bring most of the
traffic), weekday-heavy; about 4% of clicks sign up, a third of signups buy, buyers pay monthly until now and
a few ask for a refund. A handful of conversions trip the fraud rules (coupon without a click, a partner's
own domain, nobody to attribute) and wait in the review queue. Conversions are attributed by the real
``attribution.attribute``. Rows are written in bulk (COPY / executemany for clicks, ``bulk_create`` for the
rest) and the rollups get their deltas in the same transaction.
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
from openprm.activity.services.referrals import CODE_ALPHABET, ip_hash
from openprm.core.bulk import FastTable, uuid4_hex
from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.partners.models import Program

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


def _code(rng: random.Random, taken: set[str]) -> str:
    while True:
        code = "".join(rng.choice(CODE_ALPHABET) for _ in range(8))
        if code not in taken:
            taken.add(code)
            return code


def demo_referrals_load(
    *, workspace: Workspace, partners: list[Any], seed: int, now: datetime.datetime
) -> dict[str, int]:
    """Load the referral demo data for ``partners`` of ``workspace``; returns counts per kind of row."""
    rng = random.Random(seed)
    with unscoped():
        program = Program.objects.filter(workspace=workspace).order_by("-is_default", "name").first()
        taken = set(TrackingLink.objects.values_list("code", flat=True))
        rules: dict[int | None, attribution.Rule] = {
            p.pk: attribution.Rule(p.attribution_model, p.attribution_window_days)
            for p in Program.objects.filter(workspace=workspace)
        }
    if program is not None:
        rules[None] = rules[program.pk]
    tracked = [p for p in partners if rng.random() < 0.7]
    links = [
        TrackingLink(
            workspace=workspace,
            partner=partner,
            program=program,
            code=_code(rng, taken),
            destination=f"https://www.vendor.example{rng.choice(PAGES)}",
            campaign=rng.choice(["", "newsletter", "webinar", "launch", "blog"]),
            utm_source="partner",
            utm_medium=rng.choice(["referral", "email", "social"]),
            utm_campaign=f"p{index}",
        )
        for index, partner in enumerate(tracked)
        for _ in range(rng.choice([1, 1, 2, 3]))
    ]
    coupons = [
        Coupon(
            workspace=workspace,
            partner=partner,
            program=program,
            code=f"P{index:04d}{rng.choice(['SAVE10', 'WELCOME', 'VIP'])}",
            description="Partner discount",
        )
        for index, partner in enumerate(tracked)
        if rng.random() < 0.3
    ]
    weights = {link.partner.pk: rng.paretovariate(1.2) for link in links}
    total_weight = sum(weights.values()) or 1.0
    budget = CLICKS_PER_PARTNER * len({link.partner.pk for link in links})
    by_partner: defaultdict[int, list[TrackingLink]] = defaultdict(list)
    for link in links:
        by_partner[link.partner.pk].append(link)
    ips = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(5000)]
    hashes = [ip_hash(ip) for ip in ips]

    with unscoped(), transaction.atomic():
        # The demo links lead to www.vendor.example: the workspace allows that host (and its subdomains).
        if "vendor.example" not in (workspace.tracking_allowed_hosts or []):
            workspace.tracking_allowed_hosts = [*(workspace.tracking_allowed_hosts or []), "vendor.example"]
            workspace.save(update_fields=["tracking_allowed_hosts"])
        TrackingLink.objects.bulk_create(links)
        Coupon.objects.bulk_create(coupons)
        table = FastTable(
            Click,
            [
                "workspace_id",
                "partner_id",
                "link_id",
                "click_id",
                "clicked_at",
                "ip_hash",
                "user_agent",
                "referrer",
            ],
            with_ids=True,
        )
        rows: list[list[Any]] = []
        touches: list[attribution.Touch] = []
        for partner_id, partner_links in by_partner.items():
            count = max(1, round(budget * weights[partner_id] / total_weight))
            count = min(count, 4000)
            ids = table.ids(count)
            for click_pk in ids:
                link = rng.choice(partner_links)
                at = now - datetime.timedelta(seconds=rng.randrange(365 * 86400))
                if at.weekday() >= 5 and rng.random() < 0.5:
                    at -= datetime.timedelta(days=2)
                rows.append(
                    [
                        click_pk,
                        workspace.pk,
                        partner_id,
                        link.pk,
                        uuid4_hex(),
                        at,
                        rng.choice(hashes),
                        rng.choice(AGENTS),
                        rng.choice(REFERRERS),
                    ]
                )
                touches.append(attribution.Touch(click_pk, partner_id, program.pk if program else None, at))
        sums = click_deltas((row[2], row[5]) for row in rows)
        table.insert(rows)

        conversions = _conversions(rng, workspace, touches, coupons, rules, now)
        Conversion.objects.bulk_create(conversions)
        refunds = [
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
        Conversion.objects.bulk_create(refunds)
        for cell, value in conversion_deltas(
            (c.partner_id, c.kind, c.occurred_at, c.amount, c.status) for c in [*conversions, *refunds]
        ).items():
            sums[cell] += value
        rollups_add(workspace_id=workspace.pk, sums=sums)
    every = [*conversions, *refunds]
    return {
        "links": len(links),
        "coupons": len(coupons),
        "clicks": len(rows),
        "conversions": len(every),
        "flagged": sum(1 for c in every if c.status == Conversion.Status.FLAGGED),
    }


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


def _conversions(
    rng: random.Random,
    workspace: Workspace,
    touches: list[attribution.Touch],
    coupons: list[Coupon],
    rules: dict[int | None, attribution.Rule],
    now: datetime.datetime,
) -> list[Conversion]:
    out: list[Conversion] = []
    serial = 0
    for touch in touches:
        if rng.random() >= SIGNUP_RATE:
            continue
        serial += 1
        customer = f"demo-cust-{serial:06d}"
        signed_up = min(now, touch.at + datetime.timedelta(hours=rng.uniform(0.1, 72)))
        evidence = attribution.Evidence(
            occurred_at=signed_up, rules=rules, explicit_click=dataclasses.replace(touch, explicit=True)
        )
        decision = attribution.attribute(evidence)
        facts = attribution.FraudFacts(partner_has_click=True)
        if rng.random() < 0.01:  # the partner signed up its own staff
            facts = attribution.FraudFacts(
                customer_email_domain="partner.example", partner_domains=frozenset({"partner.example"})
            )
        flags = (*decision.flags, *attribution.fraud_flags(decision, facts))
        decision = dataclasses.replace(decision, flags=flags)
        out.append(
            _conversion(
                workspace,
                decision,
                f"demo-{customer}-signup",
                kind=Conversion.Kind.SIGNUP,
                occurred_at=signed_up,
                customer_external_id=customer,
            )
        )
        if decision.flags or rng.random() >= PURCHASE_RATE:
            continue
        bought = min(now, signed_up + datetime.timedelta(days=rng.uniform(0, 25)))
        plan = rng.choice(PLANS)
        prior = attribution.Prior(decision.partner_id or 0, decision.program_id, signed_up, touch)
        purchase = attribution.attribute(
            attribution.Evidence(occurred_at=bought, rules=rules, priors=[prior])
        )
        out.append(
            _conversion(
                workspace,
                purchase,
                f"demo-{customer}-purchase",
                kind=Conversion.Kind.PURCHASE,
                occurred_at=bought,
                amount=plan,
                customer_external_id=customer,
            )
        )
        paid = bought + datetime.timedelta(days=30)
        month = 1
        while paid < now and month <= 12:
            recurring = attribution.attribute(
                attribution.Evidence(occurred_at=paid, rules=rules, priors=[prior])
            )
            out.append(
                _conversion(
                    workspace,
                    recurring,
                    f"demo-{customer}-m{month}",
                    kind=Conversion.Kind.RECURRING,
                    occurred_at=paid,
                    amount=plan,
                    customer_external_id=customer,
                )
            )
            paid += datetime.timedelta(days=30)
            month += 1
    for index, coupon in enumerate(coupons):  # coupon-only purchases: no click, so flagged for review
        for n in range(rng.randrange(0, 4)):
            decision = attribution.Decision(coupon.partner.pk, coupon.program_id, None, attribution.BY_COUPON)
            decision = dataclasses.replace(
                decision, flags=attribution.fraud_flags(decision, attribution.FraudFacts())
            )
            at = now - datetime.timedelta(days=rng.uniform(0, 90))
            out.append(
                _conversion(
                    workspace,
                    decision,
                    f"demo-coupon-{index}-{n}",
                    kind=Conversion.Kind.PURCHASE,
                    occurred_at=at,
                    amount=rng.choice(PLANS),
                    customer_external_id=f"demo-coupon-cust-{index}-{n}",
                    coupon=coupon,
                )
            )
    for n in range(rng.randrange(3, 8)):  # nobody to attribute
        nobody = attribution.Decision(
            None,
            None,
            None,
            "",
            attribution.fraud_flags(attribution.Decision(None, None, None, ""), attribution.FraudFacts()),
        )
        at = now - datetime.timedelta(days=rng.uniform(0, 60))
        out.append(
            _conversion(
                workspace,
                nobody,
                f"demo-unattributed-{n}",
                kind=Conversion.Kind.SIGNUP,
                occurred_at=at,
                customer_external_id=f"demo-anon-{n}",
            )
        )
    return out
