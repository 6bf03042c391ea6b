from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "openprm.activity"
    label = "activity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from openprm.activity.selectors.engagement import last_contact_subquery
        from openprm.partners.selectors import last_contact_register

        last_contact_register(last_contact_subquery)
