"""Customers reads: scoped lists and details of accounts, changes, CSAT answers and usage; the metric
engine's inputs (``metric_inputs``)."""
