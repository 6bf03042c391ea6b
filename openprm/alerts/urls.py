"""Pages of the alerts app (under /alerts/): staff only."""

from __future__ import annotations

from django.urls import path

from openprm.alerts import views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<uuid:public_id>/", views.alert_detail, name="alert"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<uuid:public_id>/", views.rule_detail, name="rule"),
    path("rules/<uuid:public_id>/edit/", views.rule_edit, name="rule_edit"),
]
