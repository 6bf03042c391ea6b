from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "openprm.demo"
    label = "demo"
    verbose_name = "Demo data"
