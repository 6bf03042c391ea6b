"""Reads of the finance app, one module per topic: ``metric_inputs`` (the metric engine's inputs) and
``finance`` (scoped lists and gets for pages and API). Every name other apps use is importable from here."""

from openprm.finance.selectors.metric_inputs import (
    INPUTS,
    TOTAL,
    input_availability,
    metric_inputs,
    sellthrough_by_region,
)

__all__ = ["INPUTS", "TOTAL", "input_availability", "metric_inputs", "sellthrough_by_region"]
