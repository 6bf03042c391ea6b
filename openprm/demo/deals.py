"""Demo deals: a product catalog and 24 months of registrations with realistic stage progressions,
a few cross-partner conflicts, stalled deals and pending approvals. Called by ``loader``."""

from __future__ import annotations

import datetime
import functools
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection

from openprm.core.bulk import analyze_tables
from openprm.core.models import Workspace
from openprm.deals import matching
from openprm.deals.models import (
    ApprovalStatus,
    CustomerKey,
    Deal,
    DealLineItem,
    DealSource,
    DealStageChange,
    Outcome,
    PipelineStage,
    Product,
)
from openprm.deals.services import add_business_days, conflicts_detect, customer_index, program_stages
from openprm.demo.rows import insert_rows
from openprm.partners.models import Partner, PartnerStatus, Program

D = datetime.timedelta
PRODUCTS = [
    ("Core Platform", "CORE-1", Decimal("24000")),
    ("Analytics Add-on", "ANL-1", Decimal("9000")),
    ("Integration Pack", "INT-1", Decimal("6000")),
    ("Premium Support", "SUP-1", Decimal("4800")),
    ("Onboarding Services", "SRV-1", Decimal("7500")),
    ("Enterprise Seats (25)", "SEAT-25", Decimal("15000")),
]
DEALS_PER_MONTH: dict[str, float] = {  # registrations per month by lifecycle status, for a selling partner
    PartnerStatus.ACTIVE: 0.7,
    PartnerStatus.AT_RISK: 0.35,
    PartnerStatus.INACTIVE: 0.15,
    PartnerStatus.CHURNED: 0.3,
    PartnerStatus.ONBOARDING: 0.3,
    PartnerStatus.APPLICANT: 0.0,
}
LOST_REASONS = ["Lost to competitor", "No budget", "No decision", "Chose in-house build", "Timing"]
STAGE_GAPS = {"qualified": (3, 20), "proposal_sent": (5, 25), "negotiating": (5, 30), "close": (5, 35)}
# Registrations older than this are no longer open (closed or expired): open deals are recent ones.
OPEN_HORIZON_DAYS = 120
STALLED_SHARE = 0.12  # of open deals, sitting in their stage past its stalled threshold
OPEN_STAGE_WEIGHTS = [("registered", 0.3), ("qualified", 0.3), ("proposal_sent", 0.22), ("negotiating", 0.18)]


@dataclass
class DemoPartner:
    partner: Partner
    status: str
    type_key: str
    registrar_ids: list[int]  # portal users who register this partner's deals (may be empty)


@functools.lru_cache(maxsize=4096)
def _customer(name: str, raw_domain: str) -> tuple[str, str, str, tuple[str, ...]]:
    """(normalised name, domain, domain root, blocking keys): demo customers repeat, so compute once."""
    domain = matching.normalize_domain(raw_domain)
    keys = tuple(sorted(k[:120] for k in matching.blocking_keys(name, domain)))
    return matching.customer_key(name), domain, matching.domain_root(domain)[:100], keys


def customer_pool(fake: Any, *, size: int) -> list[str]:
    """Distinct customer company names (sorted, so the pool is the same for the same Faker seed)."""
    names: set[str] = set()
    for _ in range(size * 3):
        names.add(fake.company())
        if len(names) >= size:
            break
    return sorted(names)


def _uid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _domain(name: str) -> str:
    slug = "".join(c for c in matching.normalize_company(name).replace(" ", "-") if c.isalnum() or c == "-")
    return f"{slug.strip('-')[:40] or 'customer'}.example"


def load(
    *,
    workspace: Workspace,
    program: Program,
    partners: Sequence[DemoPartner],
    customers: list[str],
    owner_ids: list[int],
    rng: random.Random,
    now: datetime.datetime,
) -> int:
    """Generate the demo deals (inside the caller's transaction and unscoped block); returns the count."""
    stages = {s.key: s for s in program_stages(program=program)}
    Product.objects.bulk_create(
        [
            Product(workspace=workspace, public_id=_uid(rng), name=n, sku=s, list_price=p)
            for n, s, p in PRODUCTS
        ]
    )
    products = list(Product.objects.filter(workspace=workspace).order_by("name"))
    deals: list[Deal] = []
    plans: list[tuple[Deal, list[tuple[str, datetime.datetime, str]]]] = []
    lines: list[tuple[Deal, int, str, Decimal, Decimal]] = []
    start = now - D(days=730)

    def attach_lines(deal: Deal) -> None:
        """One or two catalog products at a negotiated price (discount or markup); amount = their total."""
        picked = [(p, Decimal(rng.choice([1, 1, 2, 3]))) for p in rng.sample(products, rng.choice([1, 1, 2]))]
        factor = Decimal(str(round(rng.uniform(0.6, 1.3), 2)))  # the negotiated price, in the unit prices
        priced = [(p, qty, (p.list_price * factor).quantize(Decimal("1"))) for p, qty in picked]
        lines.extend((deal, p.pk, p.name, qty, unit) for p, qty, unit in priced)
        deal.amount = sum((qty * unit for _, qty, unit in priced), Decimal("0"))

    for index, demo in enumerate(partners):
        rate = DEALS_PER_MONTH.get(demo.status, 0.0)
        if demo.type_key in ("affiliate", "influencer"):
            rate *= 0.2
        count = sum(1 for _ in range(24) if rng.random() < rate)
        for _ in range(count):
            registered = start + D(days=rng.uniform(0, 728))
            if demo.status == PartnerStatus.CHURNED and registered > now - D(days=200):
                registered -= D(days=300)
            deal, history = _plan_deal(demo, registered, customers, stages, rng, now, owner_ids)
            deals.append(deal)
            plans.append((deal, history))
            attach_lines(deal)
        # now and then, a recent registration of a customer another partner already holds
        if index % 97 == 5 and len(partners) > 10:
            other = partners[(index * 7 + 3) % len(partners)]
            if other.partner.pk != demo.partner.pk and other.status == PartnerStatus.ACTIVE:
                name = rng.choice(customers)
                for holder, delay in ((other, 20), (demo, 2)):
                    registered = now - D(days=delay, hours=rng.randint(1, 20))
                    deal, history = _plan_deal(
                        holder,
                        registered,
                        [name],
                        stages,
                        rng,
                        now,
                        owner_ids,
                        keep_open=True,
                        variant=holder is demo,
                    )
                    attach_lines(deal)
                    deals.append(deal)
                    plans.append((deal, history))
    Deal.objects.bulk_create(deals, batch_size=1000)
    when = connection.ops.adapt_datetimefield_value
    money = connection.ops.adapt_decimalfield_value
    changes: list[tuple[Any, ...]] = []
    indexed: dict[str, tuple[str, ...]] = {}
    for deal, history in plans:
        previous: int | None = None
        for key, at, reason in history:
            stage_id = stages[key].pk
            changes.append((workspace.pk, deal.pk, previous, stage_id, when(at), "demo", reason))
            previous = stage_id
        info = _customer(deal.customer_name, deal.customer_domain)
        indexed[info[0]] = tuple({*indexed.get(info[0], ()), *info[3]})
    insert_rows(
        DealStageChange,
        [
            "workspace_id",
            "deal_id",
            "from_stage_id",
            "to_stage_id",
            "changed_at",
            "actor_label",
            "lost_reason",
        ],
        changes,
    )
    customer_index(workspace_id=workspace.pk, customers=indexed.items())
    insert_rows(
        DealLineItem,
        ["workspace_id", "deal_id", "product_id", "product_name", "quantity", "unit_price"],
        [
            (workspace.pk, deal.pk, pid, name, money(qty), money(price))
            for deal, pid, name, qty, price in lines
        ],
    )
    # The conflict checks below run in the load's transaction: plan them on the rows just written.
    written = (Partner, Deal, DealStageChange, CustomerKey, DealLineItem)
    analyze_tables(*written, rows=len(deals), in_transaction=True)
    for deal in deals:  # conflicts among the still-undecided registrations
        if deal.approval_status == ApprovalStatus.SUBMITTED:
            conflicts_detect(deal=deal)
    return len(deals)


def _plan_open_deal(
    demo: DemoPartner,
    registered: datetime.datetime,
    customer: str,
    info: tuple[str, str, str, tuple[str, ...]],
    stages: dict[str, PipelineStage],
    rng: random.Random,
    now: datetime.datetime,
    status: str,
) -> tuple[Deal, list[tuple[str, datetime.datetime, str]]]:
    """An approved deal still in the pipeline, planned backwards from today so that it is recent: its
    time in the current stage is under the stage's stalled threshold, except for a stalled few."""
    keys = [k for k, _ in OPEN_STAGE_WEIGHTS]
    current = rng.choices(keys, weights=[w for _, w in OPEN_STAGE_WEIGHTS])[0]
    limit = stages[current].stall_days or 30
    if rng.random() < STALLED_SHARE:
        in_stage = rng.uniform(limit + 1, limit * 2.5)
    else:
        in_stage = rng.uniform(0.2, limit * 0.8)
    at = now - D(days=in_stage)
    history: list[tuple[str, datetime.datetime, str]] = []
    for key in reversed(keys[1 : keys.index(current) + 1]):
        history.append((key, at, ""))
        at -= D(days=rng.randint(*STAGE_GAPS[key]), hours=rng.randint(0, 23))
    approved_at = at
    registered = approved_at - D(hours=rng.randint(4, 70))
    history.append(("registered", registered, ""))
    history.reverse()
    stage = stages[current]
    deal = Deal(
        public_id=_uid(rng),
        workspace_id=demo.partner.workspace_id,
        partner=demo.partner,
        program=stage.program,
        registered_by_id=None,
        owner_id=demo.partner.owner_id,
        customer_name=customer,
        customer_key=info[0],
        customer_domain=info[1],
        customer_domain_root=info[2],
        contact_name="",
        amount=Decimal("0"),
        currency="USD",
        expected_close_date=(now + D(days=rng.randint(-10, 90))).date(),
        source=DealSource.SOURCED if rng.random() < 0.7 else DealSource.INFLUENCED,
        stage=stage,
        stage_changed_at=history[-1][1],
        approval_status=status,
        approval_due_at=add_business_days(registered, stage.program.approval_sla_days),
        decided_at=approved_at,
        decision_note="",
        approved_at=approved_at,
        protection_expires_at=approved_at + D(days=stage.program.protection_days),
        registered_at=registered,
        closed_at=None,
        lost_reason="",
    )
    return deal, history


def _plan_deal(
    demo: DemoPartner,
    registered: datetime.datetime,
    customers: list[str],
    stages: dict[str, PipelineStage],
    rng: random.Random,
    now: datetime.datetime,
    owner_ids: list[int],
    keep_open: bool = False,
    variant: bool = False,
) -> tuple[Deal, list[tuple[str, datetime.datetime, str]]]:
    customer = rng.choice(customers)
    domain = _domain(customer)
    if variant:  # the same customer written differently by the second partner
        customer = customer.upper().replace(",", "") + " Inc."
        domain = "www." + domain
    info = _customer(customer, domain)
    history: list[tuple[str, datetime.datetime, str]] = [("registered", registered, "")]
    age = (now - registered).days
    approved_at = registered + D(hours=rng.randint(4, 70))
    status = ApprovalStatus.APPROVED
    if keep_open or age < 4:
        status = rng.choice([ApprovalStatus.SUBMITTED, ApprovalStatus.SUBMITTED, ApprovalStatus.MORE_INFO])
    elif rng.random() < 0.06:
        status = ApprovalStatus.REJECTED
    outcome_roll = rng.random()
    at = approved_at
    reached = "registered"
    closed_at = None
    lost_reason = ""
    if status == ApprovalStatus.APPROVED:
        won_share = 0.45 if demo.status == PartnerStatus.ACTIVE else 0.3
        target = (
            "closed_won"
            if outcome_roll < won_share
            else "closed_lost"
            if outcome_roll < won_share + 0.3
            else "open"
        )
        if target == "open" and age > OPEN_HORIZON_DAYS and not keep_open:
            # An old registration is no longer open: it closed, or it expired unprogressed.
            late = rng.random()
            target = "expired" if late < 0.25 else "closed_won" if late < 0.55 else "closed_lost"
            if target == "expired":
                status = ApprovalStatus.EXPIRED
        if target == "open":
            deal, history = _plan_open_deal(demo, registered, customer, info, stages, rng, now, status)
            deal.registered_by_id = rng.choice(demo.registrar_ids) if demo.registrar_ids else None
            deal.owner_id = demo.partner.owner_id or (owner_ids[0] if owner_ids else None)
            return deal, history
        path = ["qualified", "proposal_sent", "negotiating"]
        depth = len(path) if target in ("closed_won", "closed_lost") else 0
        for key in path[:depth]:
            at = at + D(days=rng.randint(*STAGE_GAPS[key]), hours=rng.randint(0, 23))
            if at >= now:
                break
            history.append((key, at, ""))
            reached = key
        if target in ("closed_won", "closed_lost") and at < now:
            close_at = at + D(days=rng.randint(*STAGE_GAPS["close"]))
            if close_at < now:
                lost_reason = rng.choice(LOST_REASONS) if target == "closed_lost" else ""
                history.append((target, close_at, lost_reason))
                reached, closed_at = target, close_at
    stage = stages[reached]
    decided = (
        approved_at
        if status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED, ApprovalStatus.EXPIRED)
        else None
    )
    deal = Deal(
        public_id=_uid(rng),
        workspace_id=demo.partner.workspace_id,
        partner=demo.partner,
        program=stage.program,
        registered_by_id=rng.choice(demo.registrar_ids) if demo.registrar_ids else None,
        owner_id=demo.partner.owner_id or (owner_ids[0] if owner_ids else None),
        customer_name=customer,
        customer_key=info[0],
        customer_domain=info[1],
        customer_domain_root=info[2],
        contact_name="",
        amount=Decimal("0"),
        currency="USD",
        expected_close_date=(closed_at or (history[-1][1] + D(days=rng.randint(10, 90)))).date(),
        source=DealSource.SOURCED if rng.random() < 0.7 else DealSource.INFLUENCED,
        stage=stage,
        stage_changed_at=history[-1][1],
        approval_status=status,
        approval_due_at=add_business_days(registered, stage.program.approval_sla_days),
        decided_at=decided,
        decision_note="Duplicate of an existing opportunity" if status == ApprovalStatus.REJECTED else "",
        approved_at=approved_at if status in (ApprovalStatus.APPROVED, ApprovalStatus.EXPIRED) else None,
        protection_expires_at=(approved_at + D(days=stage.program.protection_days))
        if status in (ApprovalStatus.APPROVED, ApprovalStatus.EXPIRED)
        else None,
        registered_at=registered,
        closed_at=closed_at,
        lost_reason=lost_reason,
    )
    if stage.outcome != Outcome.OPEN:
        deal.protection_expires_at = None
    return deal, history
