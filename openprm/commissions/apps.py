from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    """Commission plans and their versions and rules, the rule engine and its explanations, the
    append-only ledger (accruals, reversals, adjustments, clawbacks, payouts), payout runs and details,
    statements, what-if simulation and the payout forecast."""

    name = "openprm.commissions"
    label = "commissions"
    default_auto_field = "django.db.models.BigAutoField"
