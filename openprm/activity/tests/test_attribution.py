"""The pure attribution and fraud rules: examples, and properties checked with hypothesis."""

from __future__ import annotations

import dataclasses
import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openprm.activity import attribution as a

NOW = datetime.datetime(2025, 6, 1, 12, tzinfo=datetime.UTC)
RULES = {None: a.Rule(a.LAST_CLICK, 30)}


def touch(pk: int, partner: int, days_ago: float, program: int | None = None, **kw: object) -> a.Touch:
    return a.Touch(pk, partner, program, NOW - datetime.timedelta(days=days_ago), **kw)  # type: ignore[arg-type]


def prior(t: a.Touch, days_ago: float | None = None) -> a.Prior:
    at = t.at if days_ago is None else NOW - datetime.timedelta(days=days_ago)
    return a.Prior(partner_id=t.partner_id, program_id=t.program_id, occurred_at=at, touch=t)


def test_last_and_first_click_pick_the_latest_and_earliest_click_in_the_window() -> None:
    priors = [prior(touch(1, 10, 20)), prior(touch(2, 20, 5)), prior(touch(3, 30, 40))]  # 3 is too old
    last = a.attribute(a.Evidence(occurred_at=NOW, rules=RULES, priors=priors))
    first = a.attribute(a.Evidence(occurred_at=NOW, rules={None: a.Rule(a.FIRST_CLICK, 30)}, priors=priors))
    assert (last.partner_id, last.click_pk, last.attributed_by) == (20, 2, a.LAST_CLICK)
    assert (first.partner_id, first.click_pk, first.attributed_by) == (10, 1, a.FIRST_CLICK)


def test_explicit_click_alone_is_attributed_by_click() -> None:
    decision = a.attribute(
        a.Evidence(occurred_at=NOW, rules=RULES, explicit_click=touch(1, 10, 2, explicit=True))
    )
    assert (decision.partner_id, decision.attributed_by, decision.flags) == (10, a.BY_CLICK, ())


def test_explicit_click_outside_the_window_is_attributed_but_flagged() -> None:
    decision = a.attribute(
        a.Evidence(occurred_at=NOW, rules=RULES, explicit_click=touch(1, 10, 31, explicit=True))
    )
    assert decision.partner_id == 10
    assert [f.rule for f in decision.flags] == [a.OUTSIDE_WINDOW]


def test_the_program_of_the_click_sets_the_window() -> None:
    rules = {None: a.Rule(a.LAST_CLICK, 30), 7: a.Rule(a.LAST_CLICK, 90)}
    decision = a.attribute(
        a.Evidence(occurred_at=NOW, rules=rules, priors=[prior(touch(1, 10, 60, program=7))])
    )
    assert (decision.partner_id, decision.program_id) == (10, 7)


def test_link_then_coupon_then_customer_then_nothing() -> None:
    old = prior(touch(1, 10, 200), days_ago=200)
    both = a.Evidence(occurred_at=NOW, rules=RULES, link=(20, None, 5), coupon=(30, None, 6), priors=[old])
    assert a.attribute(both).attributed_by == a.BY_LINK
    assert a.attribute(dataclasses.replace(both, link=None)).partner_id == 30
    customer = a.attribute(dataclasses.replace(both, link=None, coupon=None))
    assert (customer.partner_id, customer.attributed_by) == (10, a.BY_CUSTOMER)  # beyond any window
    assert a.attribute(a.Evidence(occurred_at=NOW, rules=RULES)).partner_id is None


def test_fraud_rules() -> None:
    decided = a.Decision(10, None, 1, a.LAST_CLICK)
    assert a.fraud_flags(decided, a.FraudFacts(partner_has_click=True)) == ()
    self_domain = a.FraudFacts(
        customer_email_domain="mail.acme.example", partner_domains=frozenset({"acme.example"})
    )
    assert [f.rule for f in a.fraud_flags(decided, self_domain)] == [a.SELF_REFERRAL]
    contact = a.FraudFacts(
        customer_email_hash=a.email_hash(" Bob@X.test "),
        contact_email_hashes=frozenset({a.email_hash("bob@x.test")}),
    )
    assert [f.rule for f in a.fraud_flags(decided, contact)] == [a.SELF_REFERRAL]
    flood = a.FraudFacts(clicks_near_from_ip=a.CLICK_FLOOD_LIMIT + 1, partner_has_click=True)
    assert [f.rule for f in a.fraud_flags(decided, flood)] == [a.CLICK_FLOOD]
    at_limit = a.FraudFacts(clicks_near_from_ip=a.CLICK_FLOOD_LIMIT, partner_has_click=True)
    assert a.fraud_flags(decided, at_limit) == ()
    coupon_only = a.Decision(10, None, None, a.BY_COUPON)
    assert [f.rule for f in a.fraud_flags(coupon_only, a.FraudFacts())] == [a.NO_CLICK]
    assert [f.rule for f in a.fraud_flags(a.Decision(None, None, None, ""), a.FraudFacts())] == [a.NO_CLICK]


# --- properties -------------------------------------------------------------------------------------------

days = st.floats(min_value=-3, max_value=120, allow_nan=False)
touches = st.lists(
    st.tuples(st.integers(1, 4), days, st.sampled_from([None, 1, 2])), min_size=0, max_size=8
).map(lambda rows: [touch(i + 1, p, d, program=g) for i, (p, d, g) in enumerate(rows)])
rules = st.fixed_dictionaries(
    {
        None: st.builds(a.Rule, st.sampled_from(a.MODELS), st.integers(1, 90)),
        1: st.builds(a.Rule, st.sampled_from(a.MODELS), st.integers(1, 90)),
        2: st.builds(a.Rule, st.sampled_from(a.MODELS), st.integers(1, 90)),
    }
)


def _with_model(rules: dict[int | None, a.Rule], model: str) -> dict[int | None, a.Rule]:
    return {k: dataclasses.replace(r, model=model) for k, r in rules.items()}


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(touches, rules)
def test_first_click_is_never_later_than_last_click(ts: list[a.Touch], rs: dict[int | None, a.Rule]) -> None:
    priors = [prior(t) for t in ts]
    first = a.attribute(a.Evidence(occurred_at=NOW, rules=_with_model(rs, a.FIRST_CLICK), priors=priors))
    last = a.attribute(a.Evidence(occurred_at=NOW, rules=_with_model(rs, a.LAST_CLICK), priors=priors))
    by_pk = {t.click_pk: t for t in ts}
    if first.attributed_by == a.FIRST_CLICK:
        assert last.attributed_by == a.LAST_CLICK
        assert by_pk[first.click_pk].at <= by_pk[last.click_pk].at  # type: ignore[index]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(touches, rules)
def test_nothing_outside_its_window_is_chosen(ts: list[a.Touch], rs: dict[int | None, a.Rule]) -> None:
    decision = a.attribute(a.Evidence(occurred_at=NOW, rules=rs, priors=[prior(t) for t in ts]))
    if decision.attributed_by in a.MODELS:
        chosen = next(t for t in ts if t.click_pk == decision.click_pk)
        assert a.in_window(chosen, NOW, a.rule_for(rs, chosen.program_id))
        assert decision.partner_id == chosen.partner_id
    else:  # nothing in any window: the customer's first attributed conversion, or nobody
        assert not any(a.in_window(t, NOW, a.rule_for(rs, t.program_id)) for t in ts)
        assert decision.partner_id == (min(ts, key=lambda t: (t.at, t.click_pk)).partner_id if ts else None)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    touches,
    rules,
    st.one_of(st.none(), st.integers(1, 4)),
    st.booleans(),
    st.one_of(st.none(), st.tuples(st.integers(1, 4), st.none(), st.integers(1, 9))),
)
def test_refunds_always_follow_their_original(
    ts: list[a.Touch],
    rs: dict[int | None, a.Rule],
    partner: int | None,
    accepted: bool,
    coupon: tuple[int, None, int] | None,
) -> None:
    original = a.Original(
        partner_id=partner, program_id=None, click_pk=None, attributed_by="coupon", accepted=accepted
    )
    evidence = a.Evidence(
        occurred_at=NOW,
        rules=rs,
        priors=[prior(t) for t in ts],
        explicit_click=ts[0] if ts else None,
        coupon=coupon,
        refund_of=original,
    )
    decision = a.attribute(evidence)
    assert decision.partner_id == partner
    assert decision.attributed_by == a.BY_REFUND
    assert bool(decision.flags) is not accepted
    assert a.fraud_flags(decision, a.FraudFacts()) == ()


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(touches, rules)
def test_the_decision_does_not_depend_on_the_order_of_the_evidence(
    ts: list[a.Touch], rs: dict[int | None, a.Rule]
) -> None:
    forward = a.attribute(a.Evidence(occurred_at=NOW, rules=rs, priors=[prior(t) for t in ts]))
    backward = a.attribute(a.Evidence(occurred_at=NOW, rules=rs, priors=[prior(t) for t in reversed(ts)]))
    assert forward == backward
