from django.apps import AppConfig


class MetricsConfig(AppConfig):
    """The metric catalog and the figures read from the rollups, for pages and the API alike."""

    name = "openprm.metrics"
    label = "metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        post_migrate.connect(_install_triggers, sender=self)


def _install_triggers(using: str = "default", **kwargs: object) -> None:
    """The data version's change triggers, on every tracked table (``metrics.dataversion``)."""
    from openprm.metrics.dataversion import install_triggers

    install_triggers(using)
