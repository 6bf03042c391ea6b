"""Pages of the reports app (under /reports/): staff only, except the signed unsubscribe link."""

from __future__ import annotations

from django.urls import path

from openprm.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.definition_list, name="list"),
    path("new/", views.definition_edit, name="create"),
    path("qbr/", views.qbr, name="qbr"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("<uuid:public_id>/", views.definition_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.definition_edit, name="edit"),
    path("<uuid:public_id>/preview/", views.preview, name="preview"),
]
