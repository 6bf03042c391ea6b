"""Pages of the customers app."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "customers"
urlpatterns: list[URLPattern] = []
