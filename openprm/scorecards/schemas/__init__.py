"""Schemas of the scorecards API, one module per topic: ``targets`` and ``scorecards`` (scorecards, tier
progress, rankings, trends, configuration and tier criteria)."""
