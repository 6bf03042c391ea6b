"""Deal rollups: what one deal contributes (pure), increments equal a rebuild after random sequences of
every kind of deal write (services and the bulk writer), the reads agree with the figures computed from
the deals themselves, and a partner purge takes its rows along."""

from __future__ import annotations

import datetime
import itertools
import random
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.core.actors import Actor
from openprm.core.scoping import scope, unscoped
from openprm.deals import metrics, selectors, services
from openprm.deals.models import Deal, DealDayRollup, DealStageRollup, PipelineStage
from openprm.deals.rollups import contributions, read, rollup_rows, rollups_rebuild, summary
from openprm.deals.rollups.contributions import DealState
from openprm.deals.services.bulk import DEAL_FIELDS, DealBulkWriter, DealChange, DealCreate
from openprm.deals.services.conflicts import deal_customer
from openprm.partners.models import Program
from openprm.testing import actor_for

UTC = datetime.UTC
D0 = datetime.datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def day(n: int) -> datetime.date:
    return (D0 + datetime.timedelta(days=n)).date()


# --- pure -----------------------------------------------------------------------------------------------


def state(**kw: Any) -> DealState:
    values: dict[str, Any] = {
        "partner_id": 1,
        "currency": "USD",
        "amount": Decimal("100.00"),
        "source": "sourced",
        "approval_status": "approved",
        "registered_at": D0,
        "closed_at": None,
        "stage_id": 10,
        "stage_changed_at": D0,
        "history": ((10, D0),),
        "co_sellers": (),
    }
    values.update(kw)
    return DealState(**values)


OUTCOMES = {10: "open", 11: "open", 20: "won", 30: "lost"}
F = {name: i for i, name in enumerate(contributions.FLOW_COLUMNS)}


def test_a_won_deal_contributes_its_flows_on_their_days_and_its_stays_in_stages() -> None:
    closed = D0 + datetime.timedelta(days=20, hours=12)  # 2026-03-31 03:00 UTC: day 21
    deal = state(
        stage_id=20,
        closed_at=closed,
        stage_changed_at=closed,
        history=((10, D0), (11, D0 + datetime.timedelta(days=5)), (20, closed)),
        co_sellers=(7,),
        source="influenced",
    )
    out = contributions.contributions(deal, OUTCOMES)
    assert out.flows == {
        (1, "USD", day(0), F["registered_all"]): 1,
        (1, "USD", day(0), F["registered"]): 1,
        (1, "USD", day(0), F["registered_amount"]): Decimal("100.00"),
        (1, "USD", day(21), F["won"]): 1,
        (1, "USD", day(21), F["won_amount"]): Decimal("100.00"),
        (1, "USD", day(21), F["won_influenced"]): 1,
        (1, "USD", day(21), F["won_influenced_amount"]): Decimal("100.00"),
        (1, "USD", day(21), F["won_measured"]): 1,
        (1, "USD", day(21), F["won_days"]): 21,
        (7, "USD", day(21), F["cosell_won"]): 1,
        (7, "USD", day(21), F["cosell_won_amount"]): Decimal("100.00"),
    }
    assert out.closes == {(1, "USD", day(21), 21): 1}
    reg = day(0).toordinal()
    assert out.stages == {
        (1, "USD", 10, day(0), 0): 1,
        (1, "USD", 10, day(0), 1): Decimal("100.00"),
        (1, "USD", 10, day(0), 2): reg,
        (1, "USD", 10, day(5), 0): -1,
        (1, "USD", 10, day(5), 1): Decimal("-100.00"),
        (1, "USD", 10, day(5), 2): -reg,
        (1, "USD", 11, day(5), 0): 1,
        (1, "USD", 11, day(5), 1): Decimal("100.00"),
        (1, "USD", 11, day(5), 2): reg,
        (1, "USD", 11, day(21), 0): -1,
        (1, "USD", 11, day(21), 1): Decimal("-100.00"),
        (1, "USD", 11, day(21), 2): -reg,
        (1, "USD", 20, day(21), 0): 1,
        (1, "USD", 20, day(21), 1): Decimal("100.00"),
        (1, "USD", 20, day(21), 2): reg,
    }


def test_rejected_registrations_count_only_as_registered_at_all() -> None:
    out = contributions.contributions(state(approval_status="rejected"), OUTCOMES)
    assert out.flows == {(1, "USD", day(0), F["registered_all"]): 1}
    assert not out.stages and not out.closes


def test_a_deal_whose_history_misses_its_stage_enters_it_when_its_stage_changed() -> None:
    moved = D0 + datetime.timedelta(days=3)
    deal = state(stage_id=11, stage_changed_at=moved, history=((10, D0),))
    assert contributions.spans(deal) == [(10, D0), (11, moved)]
    assert contributions.spans(state(history=())) == [(10, D0)]


def test_a_change_and_its_reverse_cancel_out() -> None:
    before = state()
    after = state(amount=Decimal("250.00"), partner_id=2)
    forth = contributions.delta([before], [after], OUTCOMES)
    back = contributions.delta([after], [before], OUTCOMES)
    forth.add(back)
    assert not forth


def test_histogram_median_is_the_median() -> None:
    assert read.histogram_median({}) is None
    assert read.histogram_median({3: 1}) == 3.0
    assert read.histogram_median({1: 2, 10: 2}) == 5.5
    assert read.histogram_median({1: 1, 2: 5, 90: 1}) == 2.0


# --- database: increments equal a rebuild -----------------------------------------------------------------

pytestmark = pytest.mark.django_db


def stage_ids() -> dict[str, int]:
    with unscoped():
        program = Program.objects.get(is_default=True)
        return {stage.key: stage.pk for stage in services.program_stages(program=program)}


def bulk_values(world: Any, rng: random.Random, n: int) -> dict[str, Any]:
    """An imported deal: any partner, stage, status, currency, dates over a year."""
    keys = stage_ids()
    stage_key = rng.choice(list(keys))
    registered = D0 - datetime.timedelta(days=rng.randrange(400), hours=rng.randrange(24))
    closed = None
    if stage_key.startswith("closed"):
        closed = registered + datetime.timedelta(days=rng.randrange(-2, 90), hours=rng.randrange(24))
    customer = deal_customer(f"Bulk {n}", f"bulk{n}.example")
    assert customer is not None
    with unscoped():
        program = Program.objects.get(is_default=True)
    status = rng.choice(["approved", "approved", "submitted", "rejected", "expired"])
    return {
        "partner_id": rng.choice([world.partner_a.pk, world.partner_b.pk]),
        "program_id": program.pk,
        "external_id": f"BULK-{n}",
        "title": "",
        "customer_name": f"Bulk {n}",
        "customer_key": customer.key,
        "customer_domain": customer.domain,
        "customer_domain_root": customer.root,
        "contact_name": "",
        "contact_email": "",
        "amount": Decimal(rng.randrange(0, 100_000)) / 100,
        "currency": rng.choice(["USD", "USD", "USD", "EUR"]),
        "expected_close_date": None,
        "source": rng.choice(["sourced", "influenced"]),
        "stage_id": keys[stage_key],
        "stage_changed_at": closed or registered + datetime.timedelta(days=rng.randrange(30)),
        "approval_status": status,
        "approval_due_at": None,
        "decided_at": None,
        "protection_expires_at": None,
        "registered_at": registered,
        "approved_at": registered if status in ("approved", "expired") else None,
        "closed_at": closed,
        "lost_reason": "Price" if stage_key == "closed_lost" else "",
        "properties": {},
    }


def current_values(deal_id: int) -> dict[str, Any]:
    with unscoped():
        return Deal.objects.filter(pk=deal_id).values("id", "public_id", *DEAL_FIELDS).get()


_RUNS = itertools.count(1)


class Operations:
    """Random deal writes through every path that changes what deals add up to."""

    def __init__(self, world: Any, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.staff = actor_for(world.manager)
        self.partner = actor_for(world.a_admin)
        self.n = next(_RUNS) * 10_000  # names and external ids stay unique across examples

    def deals(self) -> list[Deal]:
        with unscoped():
            return list(Deal.objects.filter(workspace_id=self.world.workspace.pk).order_by("pk"))

    def pick(self) -> Deal | None:
        deals = self.deals()
        if not deals:
            return None
        deal = self.rng.choice(deals)
        with scope(self.staff.access_scope()):
            return Deal.objects.select_related("program", "stage").get(pk=deal.pk)

    def run(self, name: str) -> None:
        self.n += 1
        getattr(self, name)()

    def register(self) -> None:
        rng, world = self.rng, self.world
        data: dict[str, Any] = {
            "customer_name": f"Customer {self.n}",
            "customer_domain": f"customer{self.n}.example",
            "amount": str(Decimal(rng.randrange(1, 500_000)) / 100),
            "source": rng.choice(["sourced", "influenced"]),
            "currency": rng.choice(["USD", "USD", "EUR"]),
        }
        if rng.random() < 0.5:
            with scope(self.partner.access_scope()):
                services.deal_register(actor=self.partner, data=data)  # type: ignore[arg-type]
            return
        data["partner_id"] = rng.choice([world.partner_a.pk, world.partner_b.pk])
        other = world.partner_b.pk if data["partner_id"] == world.partner_a.pk else world.partner_a.pk
        if rng.random() < 0.4:
            data["co_sellers"] = [(other, "co_sell")]
        with scope(self.staff.access_scope()):
            services.deal_register(actor=self.staff, data=data)  # type: ignore[arg-type]

    def move(self) -> None:
        deal = self.pick()
        if deal is None:
            return
        key = self.rng.choice(list(stage_ids()))
        with scope(self.staff.access_scope()):
            services.deal_move_stage(actor=self.staff, deal=deal, stage_key=key, lost_reason="Price")

    def decide(self) -> None:
        deal = self.pick()
        if deal is None or deal.approval_status not in ("submitted", "more_info"):
            return
        with scope(self.staff.access_scope()):
            choice = self.rng.choice(["approve", "reject", "info"])
            if choice == "approve":
                services.deal_approve(
                    actor=self.staff, deal=deal, override_conflicts=True, override_reason="ok"
                )
            elif choice == "reject":
                services.deal_reject(actor=self.staff, deal=deal, reason="duplicate")
            else:
                services.deal_request_info(actor=self.staff, deal=deal, message="which team?")

    def edit(self) -> None:
        deal = self.pick()
        if deal is None:
            return
        data = self.rng.choice(
            [
                {"amount": str(Decimal(self.rng.randrange(0, 900_000)) / 100)},
                {"currency": self.rng.choice(["USD", "EUR"])},
                {"source": self.rng.choice(["sourced", "influenced"])},
                {"customer_name": f"Renamed {self.n}"},
            ]
        )
        with scope(self.staff.access_scope()):
            services.deal_update(actor=self.staff, deal=deal, data=data)  # type: ignore[arg-type]

    def co_sell(self) -> None:
        deal = self.pick()
        if deal is None:
            return
        other = (
            self.world.partner_b.pk if deal.partner_id == self.world.partner_a.pk else self.world.partner_a.pk
        )
        with scope(self.staff.access_scope()):
            services.deal_add_co_seller(actor=self.staff, deal=deal, partner_id=other, role="influencer")

    def expire(self) -> None:
        with unscoped():
            Deal.objects.filter(workspace_id=self.world.workspace.pk, approval_status="approved").update(
                protection_expires_at=timezone.now() - datetime.timedelta(days=1)
            )
        services.deals_expire(workspace_id=self.world.workspace.pk)

    def bulk(self) -> None:
        writer = DealBulkWriter(actor=self.staff)
        creates = [DealCreate(values=bulk_values(self.world, self.rng, self.n * 100 + i)) for i in range(3)]
        updates = []
        for deal in self.rng.sample(self.deals(), min(2, len(self.deals()))):
            current = current_values(deal.pk)
            fresh = bulk_values(self.world, self.rng, self.n * 100 + 50)
            changed = self.rng.sample(
                [
                    "partner_id",
                    "amount",
                    "currency",
                    "stage_id",
                    "approval_status",
                    "source",
                    "registered_at",
                ],
                3,
            )
            values = {**current, **{name: fresh[name] for name in changed}}
            if "stage_id" in changed:
                values.update(stage_changed_at=fresh["stage_changed_at"], closed_at=fresh["closed_at"])
                changed += ["stage_changed_at", "closed_at"]
            values = {name: values[name] for name in DEAL_FIELDS}
            changed = [name for name in changed if values[name] != current[name]]
            updates.append(DealChange(current=current, values=values, changed=tuple(changed)))
        with scope(self.staff.access_scope()), transaction.atomic():
            writer.write(creates=creates, updates=updates)


OPERATIONS = ["register", "register", "move", "move", "decide", "edit", "co_sell", "expire", "bulk"]


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1), steps=st.lists(st.sampled_from(OPERATIONS), min_size=1, max_size=14))
def test_increments_equal_a_rebuild_after_random_writes(world: Any, seed: int, steps: list[str]) -> None:
    ops = Operations(world, random.Random(seed))
    for step in steps:
        ops.run(step)
    workspace_id = world.workspace.pk
    incremental = rollup_rows(workspace_id=workspace_id)
    rollups_rebuild(workspace_id=workspace_id)
    rebuilt = rollup_rows(workspace_id=workspace_id)
    assert differences(incremental, rebuilt) == {}


def differences(left: dict[str, dict[Any, Any]], right: dict[str, dict[Any, Any]]) -> dict[Any, Any]:
    """The rows that differ: (table, key) -> (left, right)."""
    return {
        (table, key): (left[table].get(key), right[table].get(key))
        for table in left
        for key in {*left[table], *right[table]}
        if left[table].get(key) != right[table].get(key)
    }


def facts(workspace_id: int, *, partner_id: int | None = None) -> list[metrics.DealFact]:
    """The deals counted in the reporting currency, as the pure formulas take them."""
    with unscoped():
        deals = Deal.objects.filter(workspace_id=workspace_id, currency="USD").select_related("stage")
        deals = deals.exclude(approval_status__in=["rejected", "expired"])
        if partner_id is not None:
            deals = deals.filter(partner_id=partner_id)
        return [
            metrics.DealFact(
                partner_id=d.partner_id,
                amount=d.amount,
                outcome=metrics.Outcome(d.stage.outcome),
                source=d.source,
                registered_at=d.registered_at,
                closed_at=d.closed_at,
                win_probability=d.stage.win_probability,
            )
            for d in deals
        ]


def test_the_deal_metrics_from_rollups_equal_the_summary_of_the_deals(world: Any) -> None:
    ops = Operations(world, random.Random(11))
    for step in OPERATIONS * 4:
        ops.run(step)
    staff = actor_for(world.manager)
    workspace_id = world.workspace.pk
    with scope(staff.access_scope()):
        for partner in (None, world.partner_a, world.partner_b):
            result = selectors.deal_metrics(actor=staff, partner=partner)
            scanned = selectors.metrics.scanned_deal_metrics(actor=staff, partner=partner)
            expected = metrics.summarize(
                facts(workspace_id, partner_id=partner.pk if partner else None), now=timezone.now()
            )
            assert result.summary == expected
            assert result.summary == scanned.summary
            assert result.other_currency_deals == scanned.other_currency_deals


def test_metric_inputs_over_a_period_and_stocks_at_its_end(world: Any) -> None:
    """The engine's inputs against a count over the deals for a period in the middle of the data."""
    ops = Operations(world, random.Random(5))
    for _ in range(6):
        ops.run("bulk")
    workspace_id, a, b = world.workspace.pk, world.partner_a.pk, world.partner_b.pk
    start, end = day(-200), day(-40)
    names = [*read.FLOWS, read.MEDIAN, "pipeline.open", "pipeline.open.amount", "pipeline.open.weighted"]
    got = read.metric_inputs(workspace_id, partner_ids=[a, b], start=start, end=end, names=names)
    with unscoped():
        deals = list(
            Deal.objects.filter(workspace_id=workspace_id, currency="USD")
            .exclude(approval_status__in=["rejected", "expired"])
            .select_related("stage")
            .prefetch_related("stage_changes")
        )
        probability = dict(PipelineStage.objects.values_list("pk", "win_probability"))
        outcome_of = dict(PipelineStage.objects.values_list("pk", "outcome"))
    for partner_id in (a, b):
        mine = [d for d in deals if d.partner_id == partner_id]
        registered = [d for d in mine if start <= d.registered_at.date() <= end]
        won = [
            d
            for d in mine
            if d.stage.outcome == "won" and start <= (d.closed_at or d.stage_changed_at).date() <= end
        ]
        entry = got.get(partner_id, {})
        assert entry.get("deals.registered", 0) == len(registered)
        assert entry.get("deals.registered.amount", 0) == sum(d.amount for d in registered)
        assert entry.get("deals.won", 0) == len(won)
        assert entry.get("deals.won.amount", 0) == sum(d.amount for d in won)
        open_at_end = []
        for d in mine:
            stays = contributions.spans(
                DealState(
                    partner_id=d.partner_id,
                    currency=d.currency,
                    amount=d.amount,
                    source=d.source,
                    approval_status=d.approval_status,
                    registered_at=d.registered_at,
                    closed_at=d.closed_at,
                    stage_id=d.stage_id,
                    stage_changed_at=d.stage_changed_at,
                    history=tuple(
                        (c.to_stage_id, c.changed_at)
                        for c in sorted(d.stage_changes.all(), key=lambda c: (c.changed_at, c.pk))
                    ),
                )
            )
            current = None
            for stage_id, entered in stays:
                if entered.date() <= end:
                    current = stage_id
            if current is not None and outcome_of[current] == "open":
                open_at_end.append((d, current))
        assert entry.get("pipeline.open", 0) == len(open_at_end)
        assert entry.get("pipeline.open.amount", 0) == sum(d.amount for d, _ in open_at_end)
        weighted = sum((d.amount * probability[s] for d, s in open_at_end), Decimal(0))
        assert entry.get("pipeline.open.weighted", Decimal(0)) == weighted.quantize(Decimal("0.01"))
    total = got[0]
    won_counts = [int(got.get(p, {}).get("deals.won") or 0) for p in (a, b)]
    assert total.get("deals.won", 0) == sum(won_counts)
    series = read.series(workspace_id, partner_ids=[a, b], start=start, end=end, names=names, grain="month")
    assert sum(v.get("deals.won", 0) for v in series.values()) == total.get("deals.won", 0)  # type: ignore[misc]
    assert list(series.values())[-1].get("pipeline.open", 0) == total.get("pipeline.open", 0)


def test_input_availability_names_the_stages_once_there_is_a_deal(world: Any) -> None:
    assert read.input_availability(world.workspace.pk) == set()
    Operations(world, random.Random(1)).run("register")
    available = read.input_availability(world.workspace.pk)
    assert {"deals.won.amount", "pipeline.open.weighted", "pipeline.stage.qualified.amount"} <= available


def test_a_purged_partner_takes_its_rollup_rows_along(world: Any) -> None:
    from openprm.partners.services import partner_purge

    ops = Operations(world, random.Random(3))
    for step in ["register", "register", "bulk"]:
        ops.run(step)
    admin = actor_for(world.admin)
    with scope(admin.access_scope()):
        partner_purge(actor=admin, partner=world.partner_b, confirm=world.partner_b.name)
    with unscoped():
        assert not DealDayRollup.objects.filter(partner_id=world.partner_b.pk).exists()
        assert not DealStageRollup.objects.filter(partner_id=world.partner_b.pk).exists()


def test_system_actor_writes_are_tracked_too(world: Any) -> None:
    system = Actor.system(world.workspace.pk, label="sync")
    with scope(system.access_scope()):
        services.deal_register(
            actor=system, data={"partner_id": world.partner_a.pk, "customer_name": "Sys", "amount": "10"}
        )
    got = read.metric_inputs(
        world.workspace.pk,
        partner_ids=[world.partner_a.pk],
        start=timezone.now().date(),
        end=timezone.now().date(),
        names=["deals.registered", "pipeline.open.amount"],
    )
    assert got[world.partner_a.pk] == {"deals.registered": 1, "pipeline.open.amount": Decimal("10.00")}


# --- reads: every path gives the same figures -------------------------------------------------------------

READ_NAMES = [
    *read.FLOWS,
    read.OTHER_CURRENCY,
    read.MEDIAN,
    *read.OPEN_STOCKS,
    "pipeline.stage.qualified.count",
    "pipeline.stage.closed_won.amount",
]


def written(world: Any, seed: int, rounds: int = 3) -> tuple[int, list[int]]:
    ops = Operations(world, random.Random(seed))
    for step in OPERATIONS * rounds:
        ops.run(step)
    with unscoped():
        partners = set(
            Deal.objects.filter(workspace_id=world.workspace.pk).values_list("partner_id", flat=True)
        )
    assert partners <= {world.partner_a.pk, world.partner_b.pk}  # so "a and b" is the whole workspace
    return world.workspace.pk, [world.partner_a.pk, world.partner_b.pk]


def test_few_partners_many_partners_and_the_whole_workspace_read_the_same(
    world: Any, monkeypatch: Any
) -> None:
    """A few partners (filtered in SQL), many (grouped reads keep theirs in Python, totals filter by one
    array or JSON list) and the whole workspace (no partner condition) give the same figures."""
    workspace_id, ids = written(world, 21)
    today = timezone.now().date()
    spans = [(day(-200), day(-40)), (day(-31), today), (datetime.date(1900, 1, 1), day(-60))]

    def reads() -> tuple[list[Any], Any]:
        inputs = [
            read.metric_inputs(workspace_id, partner_ids=ids, start=start, end=end, names=READ_NAMES)
            for start, end in spans
        ]
        return inputs, summary.deal_totals(workspace_id, partner_ids=ids, on=today)

    few = reads()
    assert few[1] == summary.deal_totals(workspace_id, partner_ids=None, on=today)
    assert few[0][0][0]["deals.registered.all"]  # the period holds data
    monkeypatch.setattr(read, "SQL_PARTNER_LIMIT", 0)
    monkeypatch.setattr(read, "PG_PARTNER_LIMIT", 0)
    assert reads() == few


def test_flows_since_ever_minus_what_lies_outside_equal_the_months_and_days(
    world: Any, monkeypatch: Any
) -> None:
    """The two ways of reading a period's flows agree: whole months plus the edge days, and the
    since-ever rows minus the months and days before and after (every edge: mid-month, month ends,
    the future)."""
    workspace_id, ids = written(world, 8)
    today = timezone.now().date()
    spans = [
        (day(-200), day(-40)),
        (day(-31), today),
        (day(-300).replace(day=1), day(-100)),
        (
            day(-45),
            (day(-45).replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
            - datetime.timedelta(days=1),
        ),
        (day(-120), today + datetime.timedelta(days=40)),
        (day(-3), day(-3)),
    ]
    names = [*read.FLOWS, read.OTHER_CURRENCY]
    direct = [
        read.metric_inputs(workspace_id, partner_ids=ids, start=s, end=e, names=names) for s, e in spans
    ]
    assert all(result[0].get("deals.registered.all") for result in direct[:3])
    monkeypatch.setattr(read, "SINCE_EVER_BEFORE", datetime.date.max)  # every period through since-ever
    complement = [
        read.metric_inputs(workspace_id, partner_ids=ids, start=s, end=e, names=names) for s, e in spans
    ]
    assert complement == direct


def test_since_ever_rows_are_one_per_partner_currency_and_stage(world: Any) -> None:
    workspace_id, _ = written(world, 13, rounds=2)
    rows = rollup_rows(workspace_id=workspace_id)
    for table, width in (("dealdayrollup", 2), ("dealstagerollup", 3)):
        ever = [key for key in rows[table] if key[0] == 2]
        months = {(key[2], *key[3 : 2 + width]) for key in rows[table] if key[0] == 1}
        assert ever and all(key[1] == datetime.date(1, 1, 1) for key in ever)
        assert {(key[2], *key[3 : 2 + width]) for key in ever} <= months
