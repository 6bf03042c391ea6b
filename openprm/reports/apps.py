from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Report definitions (program summary, partner scorecard, pipeline review, QBR pack), their schedule,
    runs, deliveries by e-mail with PDF/CSV/XLSX attachments, and unsubscribes."""

    name = "openprm.reports"
    label = "reports"
    default_auto_field = "django.db.models.BigAutoField"
