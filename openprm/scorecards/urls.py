"""Pages of the scorecards app."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "scorecards"
urlpatterns: list[URLPattern] = []
