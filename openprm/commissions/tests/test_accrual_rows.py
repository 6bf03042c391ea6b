"""The accrual's hot path: compiled conditions say what the condition tree says, a source's fields are
gathered as ``condition_fields`` gathers them, rows keep the engine's explanation and caps as JSON, and
the planner's statistics are refreshed when a write leaves them behind (not after every batch)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from openprm.commissions.engine.conditions import Cond, compile_condition, holds, show
from openprm.commissions.models import LedgerEntry
from openprm.commissions.services import accrual
from openprm.commissions.services.context import SourceFields
from openprm.commissions.services.rows import POS, encode_json, row, statistics_behind
from openprm.commissions.services.sources import PartnerFacts, Source, condition_fields
from openprm.commissions.tests.test_accrual import T0, convert, entries, publish
from openprm.core.bulk import ANALYZE_MIN_ROWS, uuid4_hex
from openprm.core.scoping import unscoped
from openprm.testing import World

D = Decimal


def literal(cond: Cond, fields: dict[str, Any], failed: list[str]) -> bool:
    """The condition tree read as written: every condition tested, the failed ones in words."""
    if cond[0] == "cond":
        _, name, op, value = cond
        actual = fields.get(name)
        ok = holds(actual, op, value)
        if not ok:
            failed.append(f"{name} {op} {show(value)}: was {show(actual)}")
        return ok
    kind, children = cond
    if kind == "all":
        ok = True
        for child in children:
            ok = literal(child, fields, failed) and ok
        return ok
    sub: list[str] = []
    ok = any([literal(child, fields, sub) for child in children])
    if not ok:
        failed.append("none of: " + "; ".join(sub))
    return ok


scalars = st.one_of(
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
    st.integers(-1000, 1000),
    st.sampled_from(["USD", "EUR", "a", "12.5", 'x"y', ""]),
    st.booleans(),
    st.none(),
)
leaves = st.one_of(
    st.tuples(
        st.just("cond"),
        st.sampled_from(["amount", "currency", "product", "metadata.n"]),
        st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "contains"]),
        scalars,
    ),
    st.tuples(
        st.just("cond"),
        st.sampled_from(["currency", "product"]),
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(["USD", "EUR", "a", "b"]), max_size=3),
    ),
)


def _groups(children: st.SearchStrategy[Cond]) -> st.SearchStrategy[Cond]:
    kinds = st.sampled_from(["all", "any"])
    return st.tuples(kinds, st.lists(children, min_size=1, max_size=3).map(tuple))


trees = st.recursive(leaves, _groups, max_leaves=6)


@given(
    tree=trees,
    amount=st.decimals(min_value=-1000, max_value=1000, places=4, allow_nan=False),
    currency=st.sampled_from(["USD", "EUR", None]),
    product=st.sampled_from([["a"], ["a", "b"], [], "a"]),
    n=scalars,
)
def test_compiled_conditions_say_what_the_tree_says(
    tree: Cond, amount: Decimal, currency: str | None, product: Any, n: Any
) -> None:
    fields = {"amount": amount, "currency": currency, "product": product, "metadata.n": n}
    expected: list[str] = []
    found: list[str] = []
    assert compile_condition(tree)(fields, found) == literal(tree, fields, expected)
    assert found == expected


def test_a_sources_fields_are_gathered_as_condition_fields_gathers_them() -> None:
    at = datetime.datetime(2026, 3, 2, 12, tzinfo=datetime.UTC)
    source = Source(
        kind="conversion",
        id=7,
        event="purchase",
        partner_id=3,
        program_id=11,
        occurred_at=at,
        amount=D("120.00"),
        currency="EUR",
        fields={"currency": "EUR", "source": "link", "metadata.plan": "pro"},
    )
    partner = PartnerFacts(
        type="reseller",
        region="EMEA",
        country="DE",
        tags=("vip",),
        tiers={11: "Gold"},
        programs=(11,),
        tag_ids=(1,),
        tier_ids=(2,),
        started=datetime.date(2024, 1, 15),
    )
    amount = D("130.5600")
    lazy = SourceFields(source, partner, amount)
    assert lazy.get("amount") == lazy["amount"] == amount
    assert dict(lazy) == condition_fields(source, partner, amount)
    assert lazy.get("partner.tier") == "Gold" and lazy.get("nothing", "-") == "-" and "source" in lazy
    assert len(lazy) == len(condition_fields(source, partner, amount))


def test_rows_keep_the_engines_explanation_and_caps_as_json(world: World) -> None:
    publish(
        world,
        {
            "rules": [
                {
                    "key": "vol",
                    "event": "purchase",
                    "reward": {
                        "type": "tiered",
                        "period": "month",
                        "mode": "retroactive",
                        "tiers": [{"from": 0, "rate": 10}, {"from": 1000, "rate": 20}],
                    },
                    "caps": {"per_event": 150},
                }
            ]
        },
    )
    convert(world, "800.00")
    convert(world, "700.00", at=T0 + datetime.timedelta(hours=1))
    accrual.accrue(workspace_id=world.workspace.pk)
    first, sale, trueup = entries()
    assert first.amount == D("80.00") and first.caps == []
    # 700 at 20% = 140, and 800 more at 10% = 80, capped at 150 for the event: the true-up keeps 10
    assert (sale.amount, trueup.amount, trueup.kind) == (D("140.00"), D("10.00"), "adjustment")
    assert trueup.caps == [{"cap": "per_event", "limit": "150", "trimmed": "70.00"}]
    assert sale.explanation == trueup.explanation  # one explanation for the event's lines
    assert sale.explanation["lines"][1]["caps"] == trueup.caps
    assert [line["amount"] for line in sale.explanation["lines"]] == ["140.00", "10.00"]
    assert sale.explanation["rules"] == [{"rule": "vol", "ok": True, "volume_before": "800.00"}]


def test_json_columns_are_encoded_once_per_value() -> None:
    explanation = {"event": "purchase", "rules": [{"rule": "sales", "ok": True}], "why": 'é "quoted"'}
    rows = [row(caps=[], explanation=explanation), row(caps=[{"cap": "per_event"}], explanation=explanation)]
    encode_json(rows)
    texts = [(r[POS["caps"]], r[POS["explanation"]]) for r in rows]
    assert texts == [
        ("[]", json.dumps(explanation)),
        ('[{"cap": "per_event"}]', json.dumps(explanation)),
    ]


def _rows(world: World, count: int) -> list[list[Any]]:
    day = T0.date()
    return [
        row(
            public_id=uuid4_hex(),
            workspace_id=world.workspace.pk,
            partner_id=world.partner_a.pk,
            kind="accrual",
            state="pending",
            source_kind="conversion",
            source_id=i,
            source_event="purchase",
            idempotency_key=f"c{i}:purchase:sales",
            rule_key="sales",
            occurred_at=T0,
            period=day.replace(day=1),
            base_amount=D("10.00"),
            base_currency="USD",
            fx_rate=D(1),
            fx_date=day,
            amount=D("2.00"),
            currency="USD",
            rate=D(20),
            caps=[],
            explanation={"event": "purchase"},
            hold_until=day,
            note="",
            created_at=T0,
        )
        for i in range(count)
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs the planner's statistics (ANALYZE)")
def test_statistics_are_refreshed_when_the_planner_is_behind(world: World) -> None:
    rows = _rows(world, ANALYZE_MIN_ROWS + 500)
    assert not statistics_behind(rows[: ANALYZE_MIN_ROWS - 1])  # a small write never analyses
    assert statistics_behind(rows)  # the planner has never seen this workspace's ledger
    assert accrual.write_rows(rows) == len(rows)  # ... so the write analyses the table
    assert not statistics_behind(rows[:ANALYZE_MIN_ROWS])
    with unscoped():
        assert LedgerEntry.objects.filter(workspace=world.workspace).count() == len(rows)
