"""Pages of the dashboards app: each page, its charts' JSON data requests and its tables' exports."""

from __future__ import annotations

from django.urls import URLPattern, path

from openprm.dashboards import views

app_name = "dashboards"
KEY = "<slug:key>"
urlpatterns: list[URLPattern] = [
    path("", views.overview, name="overview"),
    path(f"data/{KEY}/", views.overview_data, name="overview_data"),
    path(f"export/{KEY}.<slug:fmt>", views.overview_export, name="overview_export"),
    path("partners/<uuid:public_id>/", views.partner, name="partner"),
    path(f"partners/<uuid:public_id>/data/{KEY}/", views.partner_data, name="partner_data"),
    path(f"partners/<uuid:public_id>/export/{KEY}.<slug:fmt>", views.partner_export, name="partner_export"),
    path("cohorts/", views.cohorts, name="cohorts"),
    path(f"cohorts/data/{KEY}/", views.cohorts_data, name="cohorts_data"),
    path(f"cohorts/export/{KEY}.<slug:fmt>", views.cohorts_export, name="cohorts_export"),
]
