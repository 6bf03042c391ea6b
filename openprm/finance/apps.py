from django.apps import AppConfig


class FinanceConfig(AppConfig):
    """Partnership costs, invoices and payments, and distributors' sell-through reports: the financial
    inputs of the metric catalog beyond deals and events.
    """

    name = "openprm.finance"
    label = "finance"
    default_auto_field = "django.db.models.BigAutoField"
