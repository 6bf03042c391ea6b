from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """The metric catalog and the figures read from the rollups, for pages and the API alike."""

    name = "openprm.metrics"
    label = "metrics"
    default_auto_field = "django.db.models.BigAutoField"
