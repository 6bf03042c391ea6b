"""Customers reads: scoped lists and details of accounts, changes, CSAT answers and usage (``records``);
the metric engine's inputs (``metric_inputs``: ``metric_inputs``, ``input_availability``)."""

from openprm.customers.selectors.metric_inputs import input_availability, metric_inputs
from openprm.customers.selectors.records import (
    account_get,
    account_get_by_external_id,
    account_list,
    account_summaries,
    change_get,
    change_list,
    csat_get,
    csat_list,
    csat_summary,
    partner_choices,
    usage_get,
    usage_list,
)

__all__ = [
    "account_get",
    "account_get_by_external_id",
    "account_list",
    "account_summaries",
    "change_get",
    "change_list",
    "csat_get",
    "csat_list",
    "csat_summary",
    "input_availability",
    "metric_inputs",
    "partner_choices",
    "usage_get",
    "usage_list",
]
