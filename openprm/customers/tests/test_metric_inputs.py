"""The customers source of the metric engine against an independent pandas computation on generated data."""

from __future__ import annotations

import datetime
import random
import sys
from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from openprm.core.scoping import unscoped
from openprm.customers.models import AccountChange, CsatResponse, CustomerAccount, UsageRecord
from openprm.customers.selectors.metric_inputs import INPUT_NAMES, input_availability, metric_inputs
from openprm.testing import make_partner

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)
FIRST = datetime.date(2023, 1, 1)
PERIODS = [
    (datetime.date(2024, 1, 1), datetime.date(2024, 1, 31)),
    (datetime.date(2024, 4, 1), datetime.date(2024, 6, 30)),
    (datetime.date(2024, 3, 13), datetime.date(2024, 3, 19)),  # a week in the middle of a month
    (datetime.date(2024, 7, 1), datetime.date(2024, 7, 1)),  # one day
    (datetime.date(2023, 1, 1), datetime.date(2025, 12, 31)),
]


def _day(rng: random.Random, span: int = 1095) -> datetime.date:
    return FIRST + DAY * rng.randrange(span)


def _generate(workspace: Any, partners: list[Any], seed: int = 11) -> dict[str, pd.DataFrame]:
    """Random accounts, changes, CSAT answers and usage months; written row by row, returned as frames."""
    rng = random.Random(seed)
    accounts, changes, csat, usage = [], [], [], []
    with unscoped():
        for index in range(90):
            partner = rng.choice(partners)
            started = _day(rng)
            ended = (
                None if rng.random() < 0.5 else min(started + DAY * rng.randrange(0, 500), FIRST + DAY * 1094)
            )
            account = CustomerAccount.objects.create(
                workspace=workspace,
                partner=partner,
                external_id=f"C-{index}",
                name=f"Customer {index}",
                started_on=started,
                ended_on=ended,
            )
            accounts.append({"id": account.pk, "partner": partner.pk, "started": started, "ended": ended})
            for _ in range(rng.randrange(4)):
                kind = rng.choice(["renewal", "upsell", "cross_sell", "downgrade", "churn"])
                amount = Decimal(rng.randrange(0, 500_000)) / 100
                on = _day(rng)
                AccountChange.objects.create(
                    workspace=workspace,
                    partner=partner,
                    account=account,
                    kind=kind,
                    occurred_on=on,
                    amount=amount,
                )
                changes.append(
                    {"partner": partner.pk, "account": account.pk, "kind": kind, "on": on, "amount": amount}
                )
            for _ in range(rng.randrange(5)):
                score, on = rng.randint(1, 5), _day(rng)
                CsatResponse.objects.create(
                    workspace=workspace,
                    partner=partner,
                    account=account,
                    channel="partner",
                    score=score,
                    answered_on=on,
                )
                csat.append({"partner": partner.pk, "channel": "partner", "score": score, "on": on})
            for month in sorted(rng.sample(range(36), rng.randrange(8))):
                first = datetime.date(2023 + month // 12, month % 12 + 1, 1)
                available = rng.randrange(1, 40)
                row = {"active_users": rng.randrange(200), "features_used": rng.randrange(available + 1)}
                UsageRecord.objects.create(
                    workspace=workspace,
                    partner=partner,
                    account=account,
                    month=first,
                    features_available=available,
                    **row,
                )
                usage.append(
                    {
                        "partner": partner.pk,
                        "account": account.pk,
                        "month": first,
                        "features_available": available,
                    }
                    | row
                )
        for _ in range(60):
            score, on = rng.randint(1, 5), _day(rng)
            CsatResponse.objects.create(workspace=workspace, channel="direct", score=score, answered_on=on)
            csat.append({"partner": None, "channel": "direct", "score": score, "on": on})
    return {
        "accounts": pd.DataFrame(accounts),
        "changes": pd.DataFrame(changes),
        "csat": pd.DataFrame(csat),
        "usage": pd.DataFrame(usage),
    }


def _expected(
    frames: dict[str, pd.DataFrame], start: datetime.date, end: datetime.date
) -> dict[int, dict[str, Any]]:
    """The same inputs, computed with pandas from the generated rows (per partner; 0 = all of them)."""
    acc = frames["accounts"].copy()
    ended = acc["ended"]
    never = ended.isna()
    at_start = (acc["started"] < start) & (never | (ended >= start))
    columns: dict[str, pd.Series] = {
        "accounts.at_start": at_start,
        "accounts.retained": at_start & (never | (ended > end)),
        "accounts.new": (acc["started"] >= start) & (acc["started"] <= end),
        "accounts.churned": ~never & (ended >= start) & (ended <= end),
        "accounts.active_end": (acc["started"] <= end) & (never | (ended > end)),
    }
    per_partner: dict[str, pd.Series] = {
        name: flags.groupby(acc["partner"]).sum() for name, flags in columns.items()
    }
    ch = frames["changes"]
    ch = ch[(ch["on"] >= start) & (ch["on"] <= end)]
    renewals = ch[ch["kind"] == "renewal"]
    upsells = ch[ch["kind"].isin(["upsell", "cross_sell"])]
    per_partner["renewals.count"] = renewals.groupby("partner").size()
    per_partner["renewals.amount"] = renewals.groupby("partner")["amount"].sum()
    per_partner["upsells.count"] = upsells.groupby("partner").size()
    per_partner["upsells.amount"] = upsells.groupby("partner")["amount"].sum()
    per_partner["accounts.upsold"] = upsells.groupby("partner")["account"].nunique()
    cs = frames["csat"]
    cs = cs[(cs["on"] >= start) & (cs["on"] <= end)]
    partner_cs = cs[cs["channel"] == "partner"]
    per_partner["csat.sum"] = partner_cs.groupby("partner")["score"].sum()
    per_partner["csat.count"] = partner_cs.groupby("partner").size()
    us = frames["usage"]
    us = us[(us["month"] >= start.replace(day=1)) & (us["month"] <= end)]
    per_partner["usage.features_used"] = us.groupby("partner")["features_used"].sum()
    per_partner["usage.features_available"] = us.groupby("partner")["features_available"].sum()
    latest = us.sort_values("month").groupby("account").tail(1)
    per_partner["usage.active_users"] = latest.groupby("partner")["active_users"].sum()
    expected: dict[int, dict[str, Any]] = {0: {}}
    for name, series in per_partner.items():
        for partner, value in series.items():
            expected.setdefault(int(partner), {})[name] = value
        expected[0][name] = series.sum()
    direct = cs[cs["channel"] == "direct"]
    for key in expected:
        expected[key]["csat.direct.sum"] = int(direct["score"].sum())
        expected[key]["csat.direct.count"] = len(direct)
    return expected


def _same(got: dict[int, dict[str, Any]], expected: dict[int, dict[str, Any]], partners: list[int]) -> None:
    for key in [0, *partners]:
        for name in INPUT_NAMES:
            want = expected.get(key, {}).get(name, 0)
            have = got.get(key, {}).get(name, 0)
            assert Decimal(str(have)) == Decimal(str(want)), (key, name, have, want)


@pytest.mark.parametrize("few", [50, 1])  # partners filtered in SQL, or (many partners) here
def test_every_input_matches_pandas(workspace: Any, system: Any, monkeypatch: Any, few: int) -> None:
    monkeypatch.setattr(sys.modules["openprm.customers.selectors.metric_inputs"], "FEW_PARTNERS", few)
    partners = [make_partner(system, f"Partner {n}") for n in range(4)]
    frames = _generate(workspace, partners)
    ids = [p.pk for p in partners]
    for start, end in PERIODS:
        got = metric_inputs(workspace.pk, partner_ids=ids, start=start, end=end, names=INPUT_NAMES)
        _same(got, _expected(frames, start, end), ids)
        # the accounts' flow adds up: at start + new - churned = active at the end
        total = got[0]
        assert (
            total["accounts.at_start"] + total["accounts.new"] - total["accounts.churned"]
            == total["accounts.active_end"]
        )


@pytest.mark.parametrize("few", [50, 1])
def test_a_subset_of_partners_and_names(workspace: Any, system: Any, monkeypatch: Any, few: int) -> None:
    monkeypatch.setattr(sys.modules["openprm.customers.selectors.metric_inputs"], "FEW_PARTNERS", few)
    partners = [make_partner(system, f"Partner {n}") for n in range(4)]
    frames = _generate(workspace, partners, seed=5)
    start, end = PERIODS[1]
    chosen = [partners[0].pk, partners[2].pk]
    got = metric_inputs(
        workspace.pk, partner_ids=chosen, start=start, end=end, names=["renewals.amount", "csat.direct.count"]
    )
    assert set(got) <= {0, *chosen}
    assert all(set(values) <= {"renewals.amount", "csat.direct.count"} for values in got.values())
    subset = {name: frame[frame["partner"].isin(chosen)] for name, frame in frames.items() if name != "csat"}
    subset["csat"] = frames["csat"][frames["csat"]["partner"].isin(chosen) | frames["csat"]["partner"].isna()]
    want = _expected(subset, start, end)
    assert got[0]["renewals.amount"] == want[0]["renewals.amount"]
    assert got[0]["csat.direct.count"] == want[0]["csat.direct.count"] > 0
    # the baseline is repeated for every partner asked about, even one without answers of its own
    assert all(got[pk]["csat.direct.count"] == got[0]["csat.direct.count"] for pk in chosen)


def test_availability_and_an_empty_workspace(workspace: Any, system: Any) -> None:
    partner = make_partner(system, "Lonely")
    assert input_availability(workspace.pk) == set()
    got = metric_inputs(
        workspace.pk, partner_ids=[partner.pk], start=PERIODS[0][0], end=PERIODS[0][1], names=INPUT_NAMES
    )
    assert set(got) == {0, partner.pk}  # only the direct baseline (0) is repeated under the partner
    assert got[0]["accounts.at_start"] == 0 and got[0]["renewals.amount"] == 0
    with unscoped():
        account = CustomerAccount.objects.create(
            workspace=workspace, partner=partner, name="One", started_on=datetime.date(2024, 1, 1)
        )
        assert input_availability(workspace.pk) == {
            "accounts.at_start",
            "accounts.retained",
            "accounts.new",
            "accounts.churned",
            "accounts.active_end",
        }
        CsatResponse.objects.create(
            workspace=workspace,
            partner=partner,
            account=account,
            channel="partner",
            score=4,
            answered_on=datetime.date(2024, 1, 2),
        )
    available = input_availability(workspace.pk)
    assert {"csat.sum", "csat.count"} <= available
    assert "csat.direct.sum" not in available and "usage.active_users" not in available


def test_one_query_per_family(workspace: Any, system: Any, django_assert_max_num_queries: Any) -> None:
    partners = [make_partner(system, f"Partner {n}") for n in range(3)]
    _generate(workspace, partners, seed=3)
    with django_assert_max_num_queries(5):
        metric_inputs(
            workspace.pk,
            partner_ids=[p.pk for p in partners],
            start=PERIODS[1][0],
            end=PERIODS[1][1],
            names=INPUT_NAMES,
        )
