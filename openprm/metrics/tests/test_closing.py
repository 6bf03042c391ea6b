"""Period close: a closed month keeps its figures after a parameter change and after late deals and events,
shows what arrived late next to them, and takes it in only when an admin reopens and closes it again;
the CLI, the monthly job, quarters, permissions and the effective-dated parameters around it."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from openprm.activity.services.events import events_ingest
from openprm.core.models import AuditEntry
from openprm.core.scoping import scope, unscoped
from openprm.deals.services.registration import deal_register
from openprm.deals.services.stages import deal_move_stage
from openprm.metrics import closing, figures
from openprm.metrics.engine import TOTAL
from openprm.metrics.models import MetricParameter, MetricSnapshot, PeriodClose, PeriodStatus
from openprm.metrics.parameters import params_at
from openprm.metrics.periods import Period
from openprm.metrics.services import parameter_add
from openprm.testing import actor_for

pytestmark = pytest.mark.django_db

KEYS = ["won_revenue", "won_count", "win_rate", "logins", "active_partners", "revenue_per_partner"]


def today() -> datetime.date:
    return timezone.now().astimezone(datetime.UTC).date()


def month() -> Period:
    return Period.month_of(today())


def after() -> datetime.date:
    """A day after this month: the test closes the running month as if it had ended."""
    return month().end + datetime.timedelta(days=1)


def win(world: Any, partner: Any, amount: str) -> None:
    with scope(world.system.access_scope()):
        deal, _ = deal_register(
            actor=world.system,
            data={"partner_id": partner.pk, "customer_name": f"Customer {amount}", "amount": amount},
        )
        deal_move_stage(actor=world.system, deal=deal, stage_key="closed_won")


def logins(world: Any, capture: Any, *partners: str, prefix: str = "e") -> None:
    now = timezone.now().replace(microsecond=0).isoformat()
    items = [
        {"event_id": f"{prefix}{i}", "partner_external_id": p, "type": "portal_login", "occurred_at": now}
        for i, p in enumerate(partners)
    ]
    with capture(execute=True), scope(world.system.access_scope()):
        events_ingest(actor=world.system, items=items)


def table(actor: Any, keys: list[str] = KEYS, **kwargs: Any) -> Any:
    with scope(actor.access_scope()):
        return figures.metric_table(actor=actor, keys=keys, period=month(), **kwargs)


def close(actor: Any) -> list[PeriodClose]:
    with scope(actor.access_scope()):
        return closing.period_close(actor=actor, period=month().key, on=after())


@pytest.fixture
def data(world: Any, django_capture_on_commit_callbacks: Any) -> Any:
    win(world, world.partner_a, "1000.00")
    win(world, world.partner_b, "200.00")
    logins(world, django_capture_on_commit_callbacks, "A-1", "A-1", "B-1")
    return world


def test_a_closed_month_keeps_its_values_after_late_data_and_shows_the_late_adjustment(
    data: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = actor_for(data.admin)
    a, b = data.partner_a.pk, data.partner_b.pk
    before = table(admin)
    close(admin)
    with unscoped():
        assert MetricSnapshot.objects.filter(close__period=month().key).count() == 2
    win(data, data.partner_a, "500.00")  # late: won in the closed month after it closed
    logins(data, django_capture_on_commit_callbacks, "A-1", prefix="late")
    closed = table(admin)
    for key in KEYS:
        assert closed.value(a, key).value == before.value(a, key).value, key
        assert closed.total(key).value == before.total(key).value, key
    assert closed.value(a, "won_revenue").late == Decimal("1500.00")
    assert closed.value(a, "won_revenue").adjusted
    assert closed.value(a, "logins").late == 3
    assert closed.total("won_revenue").value == Decimal("1200.00")
    assert closed.total("won_revenue").late == Decimal("1700.00")
    assert not closed.value(b, "won_revenue").adjusted and closed.value(b, "won_revenue").late is None


def test_reopen_and_close_again_folds_the_late_data_in(data: Any) -> None:
    admin = actor_for(data.admin)
    close(admin)
    win(data, data.partner_a, "500.00")
    with scope(admin.access_scope()):
        reopened = closing.period_reopen(actor=admin, period=month().key, reason="late deal of Acme")
    assert [r.period for r in reopened][:1] == [month().key]
    live = table(admin)
    assert live.value(data.partner_a.pk, "won_revenue").value == Decimal("1500.00")
    assert not live.value(data.partner_a.pk, "won_revenue").adjusted
    assert len(close(admin)) >= 1
    again = table(admin)
    assert again.value(data.partner_a.pk, "won_revenue").value == Decimal("1500.00")
    assert again.total("won_revenue").value == Decimal("1700.00") and not again.total("won_revenue").adjusted
    with unscoped():
        record = PeriodClose.objects.get(period=month().key)
        assert record.status == PeriodStatus.CLOSED and record.reopen_reason == "late deal of Acme"
        actions = AuditEntry.objects.filter(object_type="metrics.periodclose", object_id=record.public_id)
        assert actions.count() == 3  # closed, reopened, closed again


def test_a_closed_month_is_unchanged_after_a_parameter_change(data: Any) -> None:
    admin = actor_for(data.admin)
    assert table(admin, ["active_partners"]).total("active_partners").value == 2
    close(admin)
    with scope(admin.access_scope()), pytest.raises(ValidationError) as refused:
        parameter_add(
            actor=admin, key="qualifying_types", value=["meeting"], effective_from=month().start, note="x"
        )
    assert "effective_from" in refused.value.message_dict
    # even a version stored in the closed month (a direct write) leaves its figures alone
    with unscoped():
        MetricParameter.objects.create(
            workspace_id=admin.workspace_id,
            key="qualifying_types",
            value=["meeting"],
            effective_from=month().start,
        )
    with scope(admin.access_scope()):
        assert params_at(admin.workspace_id, month().start)["qualifying_types"] == ["meeting"]
    closed = table(admin, ["active_partners"])
    assert closed.total("active_partners").value == 2 and not closed.total("active_partners").adjusted
    with scope(admin.access_scope()):
        closing.period_reopen(actor=admin, period=month().key, reason="new definition of activity")
    live = table(admin, ["active_partners"]).total("active_partners")  # live again, with the new rule:
    assert live.value is None and live.missing == "no data: needs partner activity (events)"  # no meetings


def test_parameter_versions_apply_from_their_month_and_are_validated(data: Any) -> None:
    admin = actor_for(data.admin)
    with scope(admin.access_scope()):
        version = parameter_add(
            actor=admin, key="active_window_days", value="30", effective_from=month().start, note="tighter"
        )
        assert version.value == 30
        assert params_at(admin.workspace_id, month().start)["active_window_days"] == 30
        before = month().start - datetime.timedelta(days=1)
        assert params_at(admin.workspace_id, before)["active_window_days"] == 90
        for key, value, start, field in (
            ("active_window_days", "0", month().start, "value"),
            ("pricing_tolerance", "1.5", month().start, "value"),
            ("contact_types", ["Bad Type"], month().start, "value"),
            ("nope", 1, month().start, "key"),
            ("active_window_days", 60, month().start + datetime.timedelta(days=1), "effective_from"),
            ("active_window_days", 60, month().start, "effective_from"),  # a version from that month exists
        ):
            with pytest.raises(ValidationError) as error:
                parameter_add(actor=admin, key=key, value=value, effective_from=start)
            assert field in error.value.message_dict, (key, value)
        with pytest.raises(PermissionDenied):
            parameter_add(
                actor=actor_for(data.manager), key="active_window_days", value=7, effective_from=start
            )


def test_only_admins_reopen_and_a_reason_is_required(data: Any) -> None:
    admin = actor_for(data.admin)
    close(admin)
    with scope(admin.access_scope()):
        with pytest.raises(PermissionDenied):
            closing.period_reopen(actor=actor_for(data.manager), period=month().key, reason="x")
        with pytest.raises(closing.PeriodError):
            closing.period_reopen(actor=admin, period=month().key, reason="  ")
        with pytest.raises(closing.PeriodError):
            closing.period_close(actor=admin, period=month().key)  # the month has not ended
        with pytest.raises(closing.PeriodError):
            closing.period_close(actor=admin, period="2026-Q1", on=after())


def test_closing_is_idempotent_and_a_quarter_end_closes_the_quarter(data: Any) -> None:
    admin = actor_for(data.admin)
    first = close(admin)
    assert close(admin) == []
    quarter = Period.quarter_of(month().start)
    keys = {r.period for r in first}
    assert (quarter.key in keys) == (quarter.end == month().end)
    march = Period.month(2025, 3)
    with scope(admin.access_scope()):
        closed = closing.period_close(actor=admin, period="2025-03", on=after())
        assert {r.period for r in closed} == {"2025-03", "2025-Q1"}
        assert all(r.partners == 2 for r in closed)
        december = closing.period_close(actor=admin, period="2025-12", on=after())
        assert {r.period for r in december} == {"2025-12", "2025-Q4", "2025"}
        reopened = closing.period_reopen(actor=admin, period=march.key, reason="fix")
    assert {r.period for r in reopened} == {"2025-03", "2025-Q1", "2025"}  # the year holds March too


def test_the_cli_and_the_monthly_job(data: Any, capsys: Any) -> None:
    call_command("metrics", "close", "--period", "2025-01")
    assert "Closed 2025-01: 2 partner(s)" in capsys.readouterr().out
    call_command("metrics", "close", "--period", "2025-01")
    assert "already closed" in capsys.readouterr().out
    call_command("metrics", "reopen", "--period", "2025-01", "--reason", "audit request")
    assert "Reopened 2025-01" in capsys.readouterr().out
    call_command("metrics", "periods")
    listed = capsys.readouterr().out
    assert "2025-01" in listed and "Reopened" in listed
    admin = actor_for(data.admin)
    with scope(admin.access_scope()):
        assert closing.close_previous_month(admin.workspace_id, on=datetime.date(2025, 3, 1)) == 1
        assert closing.close_previous_month(admin.workspace_id, on=datetime.date(2025, 3, 1)) == 0
        # a month an admin reopened stays open for the job
        assert closing.close_previous_month(admin.workspace_id, on=datetime.date(2025, 2, 1)) == 0
    with unscoped():
        assert PeriodClose.objects.get(period="2025-02").status == PeriodStatus.CLOSED
        assert PeriodClose.objects.get(period="2025-01").status == PeriodStatus.REOPENED


def test_partner_users_get_their_own_closed_values_and_no_internal_metrics(data: Any) -> None:
    close(actor_for(data.admin))
    partner = actor_for(data.b_admin)
    found = table(partner)
    assert found.partner_ids == (data.partner_b.pk,)
    assert found.value(data.partner_b.pk, "won_revenue").value == Decimal("200.00")
    assert found.total("won_revenue").value == Decimal("200.00")
    assert data.partner_a.pk not in found.rows and TOTAL in found.rows
    with pytest.raises(figures.StaffOnlyMetricError):
        table(partner, ["margin_contribution"])
    assert table(actor_for(data.admin), ["margin_contribution"]).total("margin_contribution").missing


def test_a_subset_of_a_closed_period_is_built_from_the_partners_stored_inputs(data: Any) -> None:
    admin = actor_for(data.admin)
    close(admin)
    only_a = table(admin, partners=[data.partner_a.pk])
    assert only_a.total("won_revenue").value == Decimal("1000.00")
    assert only_a.total("win_rate").value == Decimal("1.0000")
    assert only_a.total("active_partners").value == 1
