from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "openprm.accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from openprm.accounts import checks  # noqa: F401  (registers the deploy checks)
