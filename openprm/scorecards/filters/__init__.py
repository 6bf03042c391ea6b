"""List filters of the scorecards app, shared by pages and the API."""

from openprm.scorecards.filters.targets import SCOPES, TargetFilters

__all__ = ["SCOPES", "TargetFilters"]
