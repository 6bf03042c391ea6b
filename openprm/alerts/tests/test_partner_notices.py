"""Alerts told to the partner's own users (a rule's ``tell_partner``): each partner's users hear about their
own partner's alerts only, in a text without internal fields (no other partner, no rule name written for
staff), in-app and by e-mail; without the option they hear nothing. And values read in the metric's unit."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from openprm.accounts.models import Notification
from openprm.alerts.announce import describe, describe_condition, figure
from openprm.alerts.evaluation import evaluate_rules
from openprm.alerts.tests.conftest import NOW, at, events, make_rule
from openprm.core.scoping import scope, unscoped
from openprm.deals.services.registration import deal_register
from openprm.notifications.models import Channel, Delivery
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db


def told(user: Any) -> list[Notification]:
    with unscoped():
        return list(Notification.objects.filter(user=user).order_by("id"))


def emails(user: Any) -> list[Delivery]:
    with unscoped():
        return list(Delivery.objects.filter(user=user, channel=Channel.EMAIL))


@pytest.fixture
def both_quiet(quiet: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Both partners' only logins were in September: "logins this month < 1" holds for both."""
    rows = [("A-1", "portal_login", at(days=-60)), ("B-1", "portal_login", at(days=-60))]
    events(quiet, rows, django_capture_on_commit_callbacks)
    return quiet


def login_rule(world: Any, **data: Any) -> Any:
    item = {"kind": "threshold", "metric": "logins", "grain": "month", "op": "<", "value": "1"}
    return make_rule(world, [item], name="Low performers (internal)", **data)


def test_each_partners_users_hear_about_their_own_partner_only(both_quiet: Any) -> None:
    world = both_quiet
    login_rule(world, tell_partner=True)
    evaluate_rules(workspace_id=world.workspace.pk, now=NOW)
    for user, own, other in (
        (world.a_admin, world.partner_a, "Globex"),
        (world.a_rep, world.partner_a, "Globex"),
        (world.b_admin, world.partner_b, "Acme"),
    ):
        rows = told(user)
        assert [n.partner_id for n in rows] == [own.pk]
        assert rows[0].title == "[Firing] Alert on Portal logins"
        assert rows[0].body == "Portal logins 0 < 1 (2026-11)"
        assert other not in rows[0].title + rows[0].body and "internal" not in rows[0].title
        mails = emails(user)
        assert [m.target for m in mails] == [user.email]
        assert all(other not in str(m.items) for m in mails)
    staff = told(world.admin)
    assert [n.title for n in staff] == ["[Firing] Low performers (internal): 2 partners"]
    assert staff[0].partner_id is None


def test_without_the_option_partner_users_hear_nothing(both_quiet: Any) -> None:
    world = both_quiet
    login_rule(world)
    evaluate_rules(workspace_id=world.workspace.pk, now=NOW)
    assert told(world.a_admin) == [] and told(world.b_admin) == [] and emails(world.a_admin) == []
    assert len(told(world.admin)) == 1


def test_a_conflict_alert_never_names_the_other_partner_to_the_partner(quiet: Any) -> None:
    world = quiet
    make_rule(world, [{"kind": "conflict_waiting", "hours": 0}], name="Conflicts", tell_partner=True)
    data = {"customer_name": "Initech GmbH", "customer_domain": "initech.example", "amount": "1200"}
    with scope(world.system.access_scope()):
        deal_register(actor=world.system, data=data | {"partner_id": world.partner_b.pk})
    partner_admin = actor_for(world.a_admin)
    with scope(partner_admin.access_scope()):
        deal_register(actor=partner_admin, data=data)
    evaluate_rules(workspace_id=world.workspace.pk, now=timezone.now() + datetime.timedelta(minutes=1))
    staff = told(world.admin)
    assert staff and "Acme Resellers vs Globex Referrals" in staff[0].body + staff[0].title
    mine = told(world.a_admin)
    assert [n.title for n in mine] == ["[Firing] Alert on Conflict unresolved"]
    assert mine[0].body == "A registration of yours is under conflict review"
    assert all("Globex" not in n.title + n.body for n in mine)


def test_values_read_in_the_metrics_unit() -> None:
    share = {
        "kind": "threshold",
        "metric": "conversion_rate",
        "label": "Conversion rate",
        "period": "2026-Q4",
    }
    assert (
        describe(share | {"value": "0", "op": "<", "threshold": "0.2"})
        == "Conversion rate 0% < 20% (2026-Q4)"
    )
    money = {"kind": "target", "metric": "pipeline_value", "label": "Pipeline", "period": "2026-11"}
    text = describe(money | {"value": "5000.5", "target": "12000", "pace": "40% behind pace"}, "EUR")
    assert text == "Pipeline €5,000 of target €12,000: 40% behind pace (2026-11)"
    assert figure("pipeline_value", "-1234", "CHF") == "−1,234 CHF"
    quiet = {"kind": "inactivity", "metric": "last_contact", "label": "Last contact", "period": "x"}
    assert describe(quiet | {"last": "2026-10-01", "days_since": 3, "days": 30}) == (
        "Last contact: 2026-10-01 (3 days ago, limit 30 days)"
    )
    rule_item = {
        "kind": "threshold",
        "metric": "conversion_rate",
        "op": "<",
        "value": "0.2",
        "grain": "quarter",
    }
    assert describe_condition(rule_item) == "Conversion rate < 20% (quarter)"


def test_record_values_read_as_words() -> None:
    pending = {"kind": "registration_pending", "customer": "Initech", "amount": "32016.00", "currency": "USD"}
    pending |= {"registered_at": "2026-11-15T06:50:00+00:00", "approval_due_at": "2026-11-17T06:50:00+00:00"}
    assert describe(pending) == "32,016 USD, registered 2026-11-15, approval due 2026-11-17 06:50"
    ending = {"kind": "agreement_expiring", "end_date": "2026-12-31", "days_left": 1, "within_days": 30}
    assert describe(ending) == "ends 2026-12-31 (1 day left, notice 30 days)"
