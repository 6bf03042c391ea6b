"""Writes of the scorecards app: targets (one at a time, in bulk from CSV, accepted by partner admins),
scorecard configurations and tier criteria. Audited, in transactions."""

from openprm.scorecards.services.bulk import (
    COLUMNS,
    BulkResult,
    RowError,
    parse_csv,
    targets_bulk_set,
    targets_import_csv,
)
from openprm.scorecards.services.config import (
    scorecard_config_reset,
    scorecard_config_set,
    tier_criterion_create,
    tier_criterion_delete,
    tier_criterion_update,
)
from openprm.scorecards.services.targets import (
    TargetInput,
    baseline,
    target_accept,
    target_create,
    target_delete,
    target_update,
)

__all__ = [
    "COLUMNS",
    "BulkResult",
    "RowError",
    "TargetInput",
    "baseline",
    "parse_csv",
    "scorecard_config_reset",
    "scorecard_config_set",
    "target_accept",
    "target_create",
    "target_delete",
    "target_update",
    "targets_bulk_set",
    "targets_import_csv",
    "tier_criterion_create",
    "tier_criterion_delete",
    "tier_criterion_update",
]
