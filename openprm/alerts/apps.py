from django.apps import AppConfig


class AlertsConfig(AppConfig):
    """Alert rules, their alerts and history, silences; the evaluation run by the schedule."""

    name = "openprm.alerts"
    label = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every new workspace starts with the starter rules (existing ones got them by a data migration).
        from django.db.models.signals import post_save

        from openprm.alerts.services import starter_rules_on_workspace_created
        from openprm.core.models import Workspace

        post_save.connect(
            starter_rules_on_workspace_created, sender=Workspace, dispatch_uid="alerts_starter_rules"
        )
