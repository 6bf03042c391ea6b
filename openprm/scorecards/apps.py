from django.apps import AppConfig


class ScorecardsConfig(AppConfig):
    """Targets, scorecards, tier recommendations, leaderboards and Pareto: figures from the metric engine
    judged against goals.
    """

    name = "openprm.scorecards"
    label = "scorecards"
    default_auto_field = "django.db.models.BigAutoField"
