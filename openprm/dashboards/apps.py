from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Staff dashboards with charts (program overview, partner dashboard, cohorts): views over the metric
    engine and scorecards.
    """

    name = "openprm.dashboards"
    label = "dashboards"
    default_auto_field = "django.db.models.BigAutoField"
