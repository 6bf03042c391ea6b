"""Pages of the finance app."""

from __future__ import annotations

from django.urls import URLPattern, path

from openprm.finance.views import fx, records

app_name = "finance"
urlpatterns: list[URLPattern] = [
    path("costs/", records.records, {"kind": "costs"}, name="costs"),
    path("invoices/", records.records, {"kind": "invoices"}, name="invoices"),
    path("sellthrough/", records.records, {"kind": "sellthrough"}, name="sellthrough"),
    path("company-revenue/", records.records, {"kind": "company-revenue"}, name="company_revenue"),
    path("fx-rates/", fx.fx_rates, name="fx_rates"),
]
