"""``selectors.fx.fx_table``: direct, inverse and cross rates, the latest rate on or before a day (weekends),
the maximum age, missing pairs, one query per table, workspaces kept apart, the same bytes on both
databases."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.models import Workspace
from openprm.core.scoping import AccessScope, ScopeError, scope, unscoped
from openprm.finance.models import FxRate
from openprm.finance.selectors.fx import FxTable, MissingRate, fx_table

pytestmark = pytest.mark.django_db

D = datetime.date
FRI, SAT, SUN, MON = D(2024, 1, 5), D(2024, 1, 6), D(2024, 1, 7), D(2024, 1, 8)


def _rates(workspace: Workspace, day: datetime.date, **rates: str) -> None:
    with unscoped():
        for quote, rate in rates.items():
            FxRate.objects.create(
                workspace=workspace, day=day, base="EUR", quote=quote, rate=Decimal(rate), source="ecb"
            )


@pytest.fixture
def table(workspace: Workspace) -> FxTable:
    _rates(workspace, D(2024, 1, 4), USD="1.0940", JPY="157.90", GBP="0.86190")
    _rates(workspace, FRI, USD="1.0950", JPY="158.21", GBP="0.86145")
    _rates(workspace, MON, USD="1.0945")  # JPY missing that day (an "N/A" cell)
    with scope(AccessScope(workspace_id=workspace.pk)):
        return fx_table(workspace_id=workspace.pk, start=D(2024, 1, 1), end=D(2024, 1, 31))


def test_same_currency_is_one_on_the_day_asked(table: FxTable) -> None:
    assert table.rate("USD", "USD", D(2024, 1, 20)) == (Decimal(1), D(2024, 1, 20))


def test_direct_inverse_and_cross_rates(table: FxTable) -> None:
    assert table.rate("EUR", "USD", FRI) == (Decimal("1.095"), FRI)
    rate, day = table.rate("USD", "EUR", FRI)
    assert (str(rate), day) == ("0.91324200913242", FRI)  # 1 / 1.095, 14 places
    rate, day = table.rate("USD", "JPY", FRI)
    assert (str(rate), day) == ("144.48401826484018", FRI)  # 158.21 / 1.095
    rate, _ = table.rate("GBP", "USD", D(2024, 1, 4))
    assert str(rate) == "1.269288780601"  # 1.094 / 0.8619, through the euro
    assert table.rate("usd", "eur", FRI) == (Decimal("0.91324200913242"), FRI)  # codes in any case


def test_a_weekend_day_uses_fridays_rate_and_says_so(table: FxTable) -> None:
    assert table.rate("EUR", "USD", SAT) == (Decimal("1.095"), FRI)
    assert table.rate("USD", "JPY", SUN)[1] == FRI
    assert table.rate("EUR", "USD", MON) == (Decimal("1.0945"), MON)
    # Monday has no yen rate: the cross goes back to Friday, the latest day with both
    assert table.rate("USD", "JPY", MON) == (Decimal("144.48401826484018"), FRI)


def test_missing_pair_and_a_day_before_any_rate(table: FxTable) -> None:
    with pytest.raises(MissingRate, match="CHF→USD on or before 2024-01-05") as error:
        table.rate("CHF", "USD", FRI)
    assert isinstance(error.value, ValueError)
    with pytest.raises(MissingRate, match="USD→EUR on or before 2024-01-02"):
        table.rate("USD", "EUR", D(2024, 1, 2))


def test_a_rate_older_than_the_maximum_age_is_refused_naming_the_last_known_day(table: FxTable) -> None:
    assert table.rate("EUR", "USD", D(2024, 1, 15))[1] == MON  # 7 days: still fine
    with pytest.raises(MissingRate, match="last known is of 2024-01-08, 8 days earlier") as error:
        table.rate("EUR", "USD", D(2024, 1, 16))
    assert error.value.last_known == MON


def test_a_day_outside_the_loaded_range_is_a_callers_error(table: FxTable) -> None:
    with pytest.raises(ValueError, match="outside the loaded exchange-rate range") as error:
        table.rate("EUR", "USD", D(2024, 2, 1))
    assert not isinstance(error.value, MissingRate)


def test_the_rate_before_the_range_start_is_loaded_too(workspace: Workspace) -> None:
    _rates(workspace, D(2023, 12, 29), USD="1.1050")
    with scope(AccessScope(workspace_id=workspace.pk)):
        loaded = fx_table(workspace_id=workspace.pk, start=D(2024, 1, 1), end=D(2024, 1, 1))
    assert loaded.rate("EUR", "USD", D(2024, 1, 1)) == (Decimal("1.105"), D(2023, 12, 29))


def test_direct_beats_cross_on_one_day_and_the_latest_day_beats_both(workspace: Workspace) -> None:
    _rates(workspace, FRI, USD="1.1", JPY="160")
    with unscoped():
        FxRate.objects.create(
            workspace=workspace, day=FRI, base="USD", quote="JPY", rate=Decimal("150"), source="manual"
        )
    _rates(workspace, MON, USD="1.0", JPY="140")
    with scope(AccessScope(workspace_id=workspace.pk)):
        loaded = fx_table(workspace_id=workspace.pk, start=FRI, end=MON)
    assert loaded.rate("USD", "JPY", FRI) == (Decimal(150), FRI)
    assert loaded.rate("JPY", "USD", SAT) == (Decimal("0.00666666666667"), FRI)
    assert loaded.rate("USD", "JPY", MON) == (Decimal(140), MON)  # the cross of Monday is newer


def test_one_query_whatever_is_asked(workspace: Workspace) -> None:
    _rates(workspace, FRI, USD="1.0950", JPY="158.21")
    with scope(AccessScope(workspace_id=workspace.pk)), CaptureQueriesContext(connection) as queries:
        loaded = fx_table(workspace_id=workspace.pk, start=D(2024, 1, 1), end=D(2024, 12, 31))
        for day in range(5, 30):
            loaded.rate("USD", "JPY", D(2024, 1, 5) + datetime.timedelta(days=day % 7))
    assert len(queries) == 1


def test_workspaces_are_kept_apart_and_a_partner_scope_still_converts(world) -> None:  # type: ignore[no-untyped-def]
    other = Workspace.objects.create(name="Other", slug="other")
    _rates(other, FRI, USD="9.99")
    _rates(world.workspace, FRI, USD="1.095")
    partner_scope = AccessScope(workspace_id=world.workspace.pk, partner_id=world.partner_a.pk)
    with scope(partner_scope):
        mine = fx_table(workspace_id=world.workspace.pk, start=FRI, end=FRI)
        with pytest.raises(ScopeError):
            fx_table(workspace_id=other.pk, start=FRI, end=FRI)
    assert mine.rate("EUR", "USD", FRI) == (Decimal("1.095"), FRI)
    with scope(AccessScope(workspace_id=other.pk)):
        theirs = fx_table(workspace_id=other.pk, start=FRI, end=FRI)
    assert theirs.rate("EUR", "USD", FRI)[0] == Decimal("9.99")
    with scope(partner_scope):  # the rows themselves stay hidden from partner users
        assert not FxRate.objects.exists()


def test_rates_are_stored_exactly(workspace: Workspace) -> None:
    _rates(workspace, FRI, IDR="17012.34567891", XAU="0.00048123456789")
    with scope(AccessScope(workspace_id=workspace.pk)):
        loaded = fx_table(workspace_id=workspace.pk, start=FRI, end=FRI)
    assert str(loaded.rate("EUR", "IDR", FRI)[0]) == "17012.34567891"
    assert str(loaded.rate("EUR", "XAU", FRI)[0]) == "0.00048123456789"
