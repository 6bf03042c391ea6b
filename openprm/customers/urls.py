"""Pages of the customers app (staff)."""

from __future__ import annotations

from django.urls import path

from openprm.customers.views import accounts, records

app_name = "customers"
urlpatterns = [
    path("", accounts.account_list, name="list"),
    path("new/", accounts.account_form, name="new"),
    path("csat/", records.direct_csat, name="direct_csat"),
    path("<uuid:public_id>/", accounts.account_detail, name="detail"),
    path("<uuid:public_id>/edit/", accounts.account_form, name="edit"),
    path("<uuid:public_id>/delete/", accounts.account_delete, name="delete"),
    path("<uuid:public_id>/<str:kind>/", records.record_add, name="record_add"),
    path("records/<str:kind>/<uuid:public_id>/delete/", records.record_delete, name="record_delete"),
]
