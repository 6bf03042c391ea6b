"""The pure engine: worked examples from published plans and hypothesis properties."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from openprm.commissions.engine import Facts, State, compile_rules, evaluate, override_amounts
from openprm.commissions.rules import parse_rules

D = Decimal
JAN = datetime.date(2026, 1, 15)


def plan(*rules: dict[str, Any], selection: str = "highest", overrides: list[int] | None = None) -> Any:
    doc: dict[str, Any] = {"rules": list(rules)}
    if overrides:
        doc["overrides"] = {"levels": overrides}
    return compile_rules(parse_rules(doc), selection=selection)


def facts(event: str, amount: str, day: datetime.date = JAN, partner: int = 1, **fields: Any) -> Facts:
    months = fields.pop("customer_months", None)
    fields.setdefault("amount", D(amount))
    return Facts(
        event=event, partner_id=partner, day=day, amount=D(amount), fields=fields, customer_months=months
    )


def test_twenty_percent_for_twelve_months() -> None:
    p = plan(
        {
            "key": "saas",
            "event": ["purchase", "recurring_payment"],
            "reward": {"type": "percent", "rate": 20},
            "recurring": {"months": 12},
        }
    )
    state = State()
    paid = [evaluate(p, facts("purchase", "99.00"), state).total]
    for month in range(1, 14):
        paid.append(evaluate(p, facts("recurring_payment", "99.00", customer_months=month), state).total)
    assert paid[:12] == [D("19.80")] * 12  # the purchase and months 2..12
    assert paid[12:] == [D("0.00")] * 2
    last = evaluate(p, facts("recurring_payment", "99.00", customer_months=12), state)
    assert "pays the first 12 months" in last.explanation["rules"][0]["why"][0]


def test_ten_percent_to_50k_then_fifteen_marginal_and_retroactive() -> None:
    tiers = [{"from": 0, "rate": 10}, {"from": 50000, "rate": 15}]
    marginal = plan(
        {"key": "m", "event": "deal_won", "reward": {"type": "tiered", "period": "quarter", "tiers": tiers}}
    )
    retro = plan(
        {
            "key": "r",
            "event": "deal_won",
            "reward": {"type": "tiered", "period": "quarter", "mode": "retroactive", "tiers": tiers},
        }
    )
    sm, sr = State(), State()
    m = [evaluate(marginal, facts("deal_won", a), sm).total for a in ("40000", "20000", "10000")]
    r = [evaluate(retro, facts("deal_won", a), sr).total for a in ("40000", "20000", "10000")]
    assert m == [D("4000.00"), D("2500.00"), D("1500.00")]  # 10k at 10% + 10k at 15%
    assert r == [D("4000.00"), D("5000.00"), D("1500.00")]  # 3000 + a true-up of 40k × 5% = 2000
    assert sum(m) <= sum(r) == D("10500.00")  # 70k at 15%


def test_five_hundred_per_won_deal_over_ten_thousand() -> None:
    p = plan(
        {
            "key": "bounty",
            "event": "deal_won",
            "reward": {"type": "flat", "amount": 500},
            "conditions": {"all": [{"field": "amount", "op": "gt", "value": 10000}]},
        }
    )
    assert evaluate(p, facts("deal_won", "12000"), State()).total == D("500.00")
    nothing = evaluate(p, facts("deal_won", "8000"), State())
    assert nothing.total == 0 and nothing.lines == ()
    assert nothing.explanation["rules"] == [
        {"rule": "bounty", "ok": False, "why": ["amount gt 10000: was 8000"]}
    ]


def test_a_flag_condition_compares_flags_as_flags() -> None:
    """``customer.new eq true`` (as the rule editor and the API write it): ``True`` is an int in Python,
    and went through the number comparison, which never matched; the number 1 is not ``true``."""

    def paid(op: str, value: Any, new: Any) -> Decimal:
        cond = {"field": "customer.new", "op": op, "value": value}
        rule = {"key": "new", "event": "purchase", "reward": {"type": "percent", "rate": 30}}
        p = plan({**rule, "conditions": {"all": [cond]}})
        return evaluate(p, facts("purchase", "1000", **{"customer.new": new}), State()).total

    assert paid("eq", True, True) == D("300.00")  # it paid 0.00
    assert paid("eq", True, False) == 0
    assert paid("eq", False, False) == D("300.00")
    assert paid("ne", True, False) == D("300.00") and paid("ne", True, True) == 0
    assert paid("in", [True], True) == D("300.00") and paid("not_in", [True], True) == 0
    # a number as the rule's value is refused when the rules are parsed (test_rules_flags.py)
    assert paid("eq", True, 1) == 0
    p = plan(
        {
            "key": "new",
            "event": "purchase",
            "reward": {"type": "percent", "rate": 30},
            "conditions": {"all": [{"field": "customer.new", "op": "eq", "value": True}]},
        }
    )
    existing = evaluate(p, facts("purchase", "1000", **{"customer.new": False}), State())
    assert existing.explanation["rules"] == [
        {"rule": "new", "ok": False, "why": ["customer.new eq True: was False"]}
    ]
    amounts = plan(
        {
            "key": "a",
            "event": "purchase",
            "reward": {"type": "flat", "amount": 5},
            "conditions": {"all": [{"field": "amount", "op": "in", "value": [1000, 2000]}]},
        }
    )
    assert evaluate(amounts, facts("purchase", "1000.00"), State()).total == D("5.00")  # numbers as before


def test_five_percent_override_on_sub_partners() -> None:
    p = plan({"key": "c", "event": "purchase", "reward": {"type": "percent", "rate": 20}}, overrides=[5, 2])
    child = evaluate(p, facts("purchase", "1000"), State()).total
    assert child == D("200.00")
    assert override_amounts(p.override_levels, child) == [(1, D(5), D("10.00")), (2, D(2), D("4.00"))]


def test_selection_highest_priority_stack_and_bonus_stacks() -> None:
    rules = [
        {"key": "base", "priority": 1, "event": "purchase", "reward": {"type": "percent", "rate": 10}},
        {
            "key": "gold",
            "priority": 2,
            "event": "purchase",
            "reward": {"type": "percent", "rate": 15},
            "conditions": {"any": [{"field": "partner.tier", "op": "in", "value": ["Gold", "Platinum"]}]},
        },
        {
            "key": "spiff",
            "event": "purchase",
            "bonus": True,
            "reward": {"type": "flat", "amount": 50},
            "valid_from": "2026-01-01",
            "valid_to": "2026-01-31",
            "conditions": {"all": [{"field": "product", "op": "contains", "value": "Edge"}]},
        },
    ]
    gold = {"partner.tier": "Gold", "product": ["Edge", "Core"]}
    assert evaluate(plan(*rules), facts("purchase", "1000", **gold), State()).total == D("200.00")
    assert evaluate(
        plan(*rules, selection="priority"), facts("purchase", "1000", **gold), State()
    ).total == D("150.00")
    assert evaluate(plan(*rules, selection="stack"), facts("purchase", "1000", **gold), State()).total == D(
        "300.00"
    )
    feb = evaluate(plan(*rules), facts("purchase", "1000", day=datetime.date(2026, 2, 1), **gold), State())
    assert feb.total == D("150.00") and "ran until 2026-01-31" in feb.explanation["rules"][2]["why"]


def test_threshold_bonus_once_per_period_and_caps() -> None:
    p = plan(
        {
            "key": "c",
            "event": "deal_won",
            "reward": {"type": "percent", "rate": 10},
            "caps": {"per_event": 800, "per_period": 1000, "period": "month"},
        },
        {"key": "t", "event": "deal_won", "reward": {"type": "threshold", "threshold": 15000, "amount": 250}},
    )
    state = State()
    outs = [evaluate(p, facts("deal_won", a), state) for a in ("10000", "4000", "5000", "9000")]
    commissions = [sum(x.amount for x in o.lines if x.rule_key == "c") for o in outs]
    bonuses = [sum(x.amount for x in o.lines if x.rule_key == "t") for o in outs]
    assert commissions == [D("800.00"), D("200.00"), D("0.00"), D("0.00")]  # per event 800, per month 1000
    assert bonuses == [D("0"), D("0"), D("250.00"), D("0")]
    assert outs[0].lines[0].caps[0]["cap"] == "per_event"
    assert outs[1].lines[0].caps[0]["cap"] == "per_month"


amounts = st.lists(st.decimals(min_value=D("0.01"), max_value=D("80000"), places=2), min_size=1, max_size=30)


@given(amounts)
def test_marginal_never_exceeds_retroactive(values: list[Decimal]) -> None:
    tiers = [{"from": 0, "rate": 5}, {"from": 20000, "rate": "7.5"}, {"from": 100000, "rate": 12}]
    m = plan({"key": "m", "event": "deal_won", "reward": {"type": "tiered", "tiers": tiers}})
    r = plan(
        {"key": "r", "event": "deal_won", "reward": {"type": "tiered", "mode": "retroactive", "tiers": tiers}}
    )
    sm, sr = State(), State()
    total_m = sum(evaluate(m, facts("deal_won", str(v)), sm).total for v in values)
    total_r = sum(evaluate(r, facts("deal_won", str(v)), sr).total for v in values)
    assert total_m <= total_r + D("0.01") * len(values)  # each line rounds to the cent once


@given(
    amounts,
    st.decimals(min_value=1, max_value=5000, places=2),
    st.decimals(min_value=1, max_value=20000, places=2),
)
def test_caps_are_never_exceeded(values: list[Decimal], per_event: Decimal, per_period: Decimal) -> None:
    p = plan(
        {
            "key": "c",
            "event": "purchase",
            "reward": {"type": "percent", "rate": 30},
            "caps": {"per_event": str(per_event), "per_period": str(per_period)},
        }
    )
    state = State()
    outs = [evaluate(p, facts("purchase", str(v)), state).total for v in values]
    assert all(o <= per_event for o in outs)
    assert sum(outs) <= per_period


@given(amounts)
def test_same_events_same_amounts(values: list[Decimal]) -> None:
    p = plan(
        {
            "key": "r",
            "event": "purchase",
            "reward": {
                "type": "tiered",
                "mode": "retroactive",
                "tiers": [{"from": 0, "rate": "3.3333"}, {"from": 5000, "rate": "6.6667"}],
            },
        }
    )
    runs = [[evaluate(p, facts("purchase", str(v)), s).lines for v in values] for s in (State(), State())]
    assert runs[0] == runs[1]
