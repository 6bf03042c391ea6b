from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """Partner-managed customer accounts: renewals, upsells and cross-sells, CSAT (with the direct-channel
    baseline) and product usage.
    """

    name = "openprm.customers"
    label = "customers"
    default_auto_field = "django.db.models.BigAutoField"
