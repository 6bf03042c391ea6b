"""Pages of the scorecards app (under /scorecards/)."""

from __future__ import annotations

from django.urls import path

from openprm.scorecards import views

app_name = "scorecards"
urlpatterns = [
    path("", views.table, name="table"),
    path("partners/<str:partner_id>/", views.partner, name="partner"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("settings/", views.config, name="config"),
    path("targets/", views.targets, name="targets"),
    path("targets/<str:target_id>/", views.target, name="target"),
]
