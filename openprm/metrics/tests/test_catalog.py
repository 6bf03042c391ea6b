"""The metric catalog: one entry per figure the product computes, held to the formulas that compute them,
and the words users read (no database)."""

from __future__ import annotations

import dataclasses
import importlib
import typing
from typing import Any

import pytest

from openprm.deals import metrics as deal_metrics
from openprm.metrics import formulas
from openprm.metrics.catalog import (
    METRICS,
    Category,
    Direction,
    Indicator,
    Metric,
    Unit,
    UnknownMetricError,
    metric,
)

ENGAGEMENT = "openprm.metrics.formulas:Engagement."

# The deal formulas users read a figure of (the grouping and summarizing helpers are not metrics).
DEAL_FUNCTIONS = (
    deal_metrics.pipeline_value,
    deal_metrics.weighted_pipeline,
    deal_metrics.win_rate,
    deal_metrics.average_won_deal_size,
    deal_metrics.time_to_close_days,
    deal_metrics.sales_velocity,
    deal_metrics.revenue_split,
    deal_metrics.revenue_per_partner,
    deal_metrics.average_revenue_per_partner,
    deal_metrics.average_open_deal_age_days,
    deal_metrics.time_in_stage,
)


def resolve(source: str) -> Any:
    """The object a catalog source names: ``module:Name[.attribute or dataclass field]...``."""
    module, _, path = source.partition(":")
    found: Any = importlib.import_module(module)
    for part in path.split("."):
        if dataclasses.is_dataclass(found) and isinstance(found, type):
            fields = {f.name for f in dataclasses.fields(found)}
            if part in fields:
                found = typing.get_type_hints(found)[part]
                continue
        found = getattr(found, part)  # AttributeError: the catalog names something that is gone
    return found


def engagement_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(formulas.Engagement)} - {"period"}


def test_every_engagement_formula_field_has_an_entry_and_every_entry_a_field() -> None:
    catalogued = {m.key for m in METRICS.values() if m.source.startswith(ENGAGEMENT)}
    assert engagement_fields() - catalogued == set(), "formula fields without a catalog entry"
    assert catalogued - engagement_fields() == set(), "catalog entries without a formula field"
    for key in catalogued:
        assert METRICS[key].source == ENGAGEMENT + key


def test_every_source_names_something_that_exists() -> None:
    for entry in METRICS.values():
        assert resolve(entry.source) is not None, entry.key


def test_resolve_notices_a_vanished_field() -> None:
    with pytest.raises(AttributeError):
        resolve(ENGAGEMENT + "no_such_field")


def test_every_deal_formula_and_summary_figure_is_catalogued() -> None:
    sources = {m.source for m in METRICS.values()}
    for func in DEAL_FUNCTIONS:
        assert f"openprm.deals.metrics:{func.__name__}" in sources, func.__name__
    for count in ("open_count", "won_count", "lost_count", "deal_count"):
        assert METRICS[count].source == f"openprm.deals.metrics:DealSummary.{count}"
    split = {m.key for m in METRICS.values() if m.source == "openprm.deals.metrics:revenue_split"}
    shares = {"sourced_share", "influenced_share"}
    assert split == {"won_revenue", "sourced_revenue", "influenced_revenue", *shares}


def test_deal_kpis_keep_their_names_definitions_and_kinds() -> None:
    assert metric("pipeline_value").label == "Pipeline"
    assert metric("pipeline_value").definition.startswith("The total amount of all open deals")
    assert metric("win_rate").unit is Unit.RATIO and metric("sales_velocity").unit is Unit.CURRENCY_PER_DAY
    deal_keys = {f.__name__ for f in DEAL_FUNCTIONS} - {"revenue_split"}
    leading = {k for k in deal_keys if METRICS[k].indicator is Indicator.LEADING}
    assert leading == {
        "pipeline_value",
        "weighted_pipeline",
        "sales_velocity",
        "average_open_deal_age_days",
        "time_in_stage",
    }
    assert all(METRICS[k].indicator is Indicator.LAGGING for k in deal_keys - leading)
    assert metric("time_to_close_days").direction is Direction.LOWER


def test_figures_shown_outside_the_formulas_are_catalogued() -> None:
    # the referrals page (clicks, conversions, net revenue by partner), the program page (active share),
    # the pipeline review (its four counts) and the partner list (last contact)
    for key in (
        "clicks",
        "referral_conversions",
        "net_referral_revenue",
        "active_partners",
        "enrolled_partners",
        "active_partner_share",
        "stalled_deals",
        "deals_closing_this_month",
        "overdue_close_dates",
        "overdue_approvals",
        "last_contact",
        "weekly_activity",
    ):
        assert key in METRICS, key
    assert metric("net_referral_revenue").unit is Unit.CURRENCY
    assert metric("active_partner_share").category is Category.PROGRAM


def test_metric_gives_label_unit_and_definition_and_refuses_unknown_keys_clearly() -> None:
    found = metric("reply_partner_seconds")
    assert (found.label, found.unit, found.direction) == ("Partner replies in", Unit.SECONDS, Direction.LOWER)
    typo = r"No metric 'win_rat' in the catalog\. Did you mean 'win_rate'"
    with pytest.raises(UnknownMetricError, match=typo):
        metric("win_rat")
    with pytest.raises(UnknownMetricError) as error:
        metric("zzz")
    assert "Did you mean" not in str(error.value)
    assert isinstance(error.value, LookupError)


def test_entries_read_well() -> None:
    for key, entry in METRICS.items():
        assert entry.key == key
        assert entry.label[0].isupper() and entry.definition[0].isupper(), key
        assert entry.definition.endswith("."), key
        assert "``" not in entry.definition and "\n" not in entry.definition, key
        assert isinstance(entry.unit, Unit) and isinstance(entry.direction, Direction), key
        assert isinstance(entry.category, Category), key
        assert "indicator" not in entry.definition.lower(), f"{key}: leading/lagging is a field"


def test_metric_refuses_malformed_entries() -> None:
    good: dict[str, Any] = {
        "key": "x_rate",
        "label": "X rate",
        "unit": Unit.RATIO,
        "direction": Direction.HIGHER,
        "category": Category.PROGRAM,
        "definition": "X divided by Y.",
        "source": "openprm.metrics.formulas:ratio",
    }
    Metric(**good)
    for field, bad in (
        ("key", "X-rate"),
        ("label", "x rate"),
        ("definition", "x divided by y"),
        ("source", "ratio"),
    ):
        with pytest.raises(ValueError):
            Metric(**{**good, field: bad})
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric("win_rate").label = "Wins"  # type: ignore[misc]


def test_describe_adds_the_unit() -> None:
    assert metric("win_rate").describe().endswith("A ratio between 0 and 1, rounded to 4 places.")
    assert metric("meetings").describe() == metric("meetings").definition
