"""The scale dataset's deals: an exact number of registrations over 24 months, written through the deals'
bulk service (``DealBulkWriter``: stage histories, line items, the conflict index and checks, one audit
entry per deal) a batch at a time, plus co-sellers on some won or open deals.

Each partner's share of the deals follows its lifecycle (``deals.DEALS_PER_MONTH``: active partners sell
most, affiliates and influencers little) times a long tail drawn per partner; registrations grow over the
two years. What becomes of a registration — approved, won, lost, expired, open in a stage (some stalled),
rejected, awaiting a decision — and its products and amount are planned by the demo's ``DealPlanner``, as
for the small demo. Co-sellers (``DealCoSeller``) are written directly: the bulk service has no path for
them (``deal_add_co_seller`` adds one at a time); the same seed gives the same deals.
"""

from __future__ import annotations

import datetime
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from openprm.core.actors import Actor
from openprm.deals.models import ApprovalStatus, Deal, DealCoSeller, Outcome
from openprm.deals.services import program_stages
from openprm.deals.services.bulk import DEAL_FIELDS, DealBulkWriter, DealCreate, StageStep
from openprm.demo.deals import DEALS_PER_MONTH, DealPlanner, DemoPartner, PlannedDeal, catalog
from openprm.demo.plan import Dice
from openprm.demo.rows import insert_rows
from openprm.demo.words import LOCALES
from openprm.partners.models import PartnerStatus, Program

D = datetime.timedelta
WRITE_BATCH = 5_000
TAIL_SIGMA = 0.8
CO_SELL_SHARE = 0.05  # of approved deals, with a second partner on them
CO_SELLER_ROLES = {  # the role a partner of this type plays on another partner's deal
    "technology": DealCoSeller.Role.CO_SELL,
    "service": DealCoSeller.Role.IMPLEMENTATION,
    "agency": DealCoSeller.Role.INFLUENCER,
    "referral": DealCoSeller.Role.REFERRAL,
}


CUSTOMER_WORDS = [
    "Holdings", "Group", "Systems", "Logistics", "Foods", "Health", "Energy", "Labs", "Retail", "Partners",
    "Manufacturing", "Analytics", "Media", "Capital", "Pharma", "Motors", "Textiles", "Insurance", "Telecom",
    "Engineering", "Hospitality", "Software", "Construction", "Chemicals",
]  # fmt: skip
CUSTOMER_SUFFIXES = ["Inc.", "LLC", "Ltd", "GmbH", "SA", "BV", "AG", "plc", "Corp.", ""]


def customer_names(dice: Dice, *, size: int) -> list[str]:
    """``size`` distinct customer companies (sorted): the demo's family names of every locale with an
    industry and a legal form. Faker's ``company()`` (the small demo's pool) is too slow for 40,000."""
    families = sorted({family for locale in LOCALES for family in _families(dice, locale)})
    rng, names = dice.rng, set[str]()
    while len(names) < size:
        name = f"{rng.choice(families)} {rng.choice(CUSTOMER_WORDS)} {rng.choice(CUSTOMER_SUFFIXES)}"
        names.add(name.strip())
    return sorted(names)


def _families(dice: Dice, locale: str) -> list[str]:
    dice.person(locale)  # samples the locale's name pools once
    return dice.name_pools[locale][1]


@dataclass
class DealResult:
    deals: int = 0
    co_sellers: int = 0
    stage_changes: int = 0
    conflicts: int = 0


def deal_counts(rng: random.Random, partners: Sequence[DemoPartner], total: int) -> list[int]:
    """How many deals each partner registered; they add up to ``total`` exactly (largest remainders)."""
    weights = []
    for demo in partners:
        rate = DEALS_PER_MONTH.get(demo.status, 0.0)
        if demo.type_key in ("affiliate", "influencer"):
            rate *= 0.2
        weights.append(rate * rng.lognormvariate(0.0, TAIL_SIGMA))
    weight = sum(weights)
    if weight <= 0:
        return [0] * len(partners)
    shares = [total * w / weight for w in weights]
    counts = [math.floor(share) for share in shares]
    left = total - sum(counts)
    for index in sorted(range(len(counts)), key=lambda i: (shares[i] - counts[i], -i), reverse=True)[:left]:
        counts[index] += 1
    return counts


def _create(item: PlannedDeal, stage_ids: dict[str, int]) -> DealCreate:
    deal = item.deal
    history: list[StageStep] = []
    previous = None
    for key, at, reason in item.history:
        history.append((previous, stage_ids[key], at, reason))
        previous = stage_ids[key]
    return DealCreate(
        values={name: getattr(deal, name) for name in DEAL_FIELDS},
        lines=[(product.pk, product.name, quantity, price) for product, quantity, price in item.lines],
        history=history,
        extra={
            "owner_id": deal.owner_id,
            "registered_by_id": deal.registered_by_id,
            "decision_note": deal.decision_note,
        },
        public_id=deal.public_id,
    )


class _CoSellers:
    """Picks a second partner for some approved deals; written once their deals have ids."""

    def __init__(self, rng: random.Random, partners: Sequence[DemoPartner]) -> None:
        self.rng = rng
        self.pool = [
            (demo.partner.pk, CO_SELLER_ROLES[demo.type_key])
            for demo in partners
            if demo.type_key in CO_SELLER_ROLES and demo.status == PartnerStatus.ACTIVE
        ]
        self.planned: dict[str, tuple[int, str]] = {}  # deal public id (hex) → (partner, role)

    def consider(self, item: PlannedDeal, outcome: str) -> None:
        deal = item.deal
        if not self.pool or deal.approval_status != ApprovalStatus.APPROVED or outcome == Outcome.LOST:
            return
        if self.rng.random() < CO_SELL_SHARE:
            partner_id, role = self.rng.choice(self.pool)
            if partner_id != deal.partner_id:
                self.planned[deal.public_id.hex] = (partner_id, role)

    def write(self, workspace_id: int) -> int:
        if not self.planned:
            return 0
        stored = Deal.objects.filter(public_id__in=list(self.planned)).values_list("public_id", "id")
        rows = [
            (workspace_id, deal_id, *self.planned[public_id.hex]) for public_id, deal_id in stored.iterator()
        ]
        insert_rows(DealCoSeller, ["workspace_id", "deal_id", "partner_id", "role"], rows)
        self.planned.clear()
        return len(rows)


def deals_load(
    *,
    actor: Actor,
    program: Program,
    partners: Sequence[DemoPartner],
    customers: list[str],
    owner_ids: list[int],
    total: int,
    rng: random.Random,
    now: datetime.datetime,
) -> DealResult:
    """Plan and write ``total`` deals (inside the caller's scope), a partner at a time, in batches."""
    stages = {s.key: s for s in program_stages(program=program)}
    stage_ids = {key: stage.pk for key, stage in stages.items()}
    outcomes = {key: stage.outcome for key, stage in stages.items()}
    planner = DealPlanner(stages, catalog(actor, rng), owner_ids, customers, rng, now)
    writer = DealBulkWriter(actor=actor)
    co_sellers = _CoSellers(rng, partners)
    result = DealResult()
    start = now - D(days=728)
    batch: list[DealCreate] = []
    for demo, count in zip(partners, deal_counts(rng, partners, total), strict=True):
        for _ in range(count):
            registered = start + D(days=728 * rng.random() ** 0.8)  # more registrations lately
            if demo.status == PartnerStatus.CHURNED and registered > now - D(days=200):
                registered -= D(days=300)
            item = planner.lines(planner.deal(demo, registered, customers))
            co_sellers.consider(item, outcomes[item.history[-1][0]])
            batch.append(_create(item, stage_ids))
            if len(batch) >= WRITE_BATCH:
                writer.write(creates=batch)
                result.deals += len(batch)
                result.co_sellers += co_sellers.write(actor.workspace_id)
                batch = []
    writer.write(creates=batch)
    result.deals += len(batch)
    result.co_sellers += co_sellers.write(actor.workspace_id)
    result.stage_changes, result.conflicts = writer.stage_changes, writer.conflicts
    return result
