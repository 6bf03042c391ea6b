from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []


def track_redirect(request, code):  # type: ignore[no-untyped-def]  # replaced by the referral tracking work
    from django.http import Http404

    raise Http404
