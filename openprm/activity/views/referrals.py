"""The click redirect (``/r/<code>``, public) and the staff referral pages (links, conversions review).

Parse → call one service/selector → render. Rows outside the actor's scope answer 404 like missing ones.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils import timezone
from django.views.decorators.http import require_POST

from openprm.accounts.forms import add_service_errors
from openprm.activity.forms_referrals import LinkForm
from openprm.activity.models import Conversion
from openprm.activity.selectors import referrals as selectors
from openprm.activity.selectors.referrals import ReferralFilters
from openprm.activity.services import referrals as services
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners.models import Partner

TOTALS_DAYS = 30


# --- the redirect ---------------------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR; the first X-Forwarded-For address only behind a configured proxy."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:100]
    return str(request.META.get("REMOTE_ADDR", ""))[:100]


def track_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Record the click and send the visitor on, with ``prm_click`` and the link's UTM parameters.

    Unknown and inactive codes are a 404 and record nothing. HEAD (link previews) redirects without
    recording a click."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    if request.method == "HEAD":
        link = services.link_active(code=code)
        if link is None:
            raise Http404
        target = services.destination_url(link=link, click_id=None)
    else:
        recorded = services.click_record(
            code=code,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            referrer=request.META.get("HTTP_REFERER", ""),
        )
        if recorded is None:
            raise Http404
        link, click = recorded
        target = services.destination_url(link=link, click_id=click.click_id)
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"  # every visit must reach us to be counted
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """A bare view (no database): the baseline of the redirect benchmark, and a liveness probe."""
    return HttpResponse("ok", content_type="text/plain")


# --- staff pages ----------------------------------------------------------------------------------------


def _partners() -> list[tuple[str, str]]:
    return [
        (str(pid), name) for pid, name in Partner.objects.order_by("name").values_list("public_id", "name")
    ]


@staff_view
def referrals(request: HttpRequest) -> HttpResponse:
    """Tracking links (with clicks and conversions) and each partner's last-30-day totals from the rollups."""
    actor = actor_of(request)
    filters = ReferralFilters.from_mapping(request.GET)
    can_edit = actor.can(Perm.PARTNER_EDIT)
    form = LinkForm(request.POST or None, partners=_partners()) if can_edit else None
    if request.method == "POST" and form is not None and form.is_valid():
        data = form.to_input()
        partner = Partner.objects.filter(public_id=form.cleaned_data["partner"]).first()
        if partner is not None:
            data["partner_id"] = partner.pk
        try:
            link = services.link_create(actor=actor, data=data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created /r/{link.code}.")
            return redirect("activity:referrals")
    page = paginate(request, selectors.link_list(actor=actor, filters=filters), per_page=50)
    links = list(page.object_list)
    since = timezone.now().date() - datetime.timedelta(days=TOTALS_DAYS)
    totals = selectors.referral_totals(actor=actor, since=since)
    partner_names = dict(Partner.objects.filter(pk__in=list(totals)).values_list("pk", "name"))
    return render(
        request,
        "activity/referrals/links.html",
        {
            "filters": filters,
            "page": page,
            "links": links,
            "clicks": selectors.link_click_counts(actor=actor, links=links),
            "conversions": selectors.link_conversion_counts(actor=actor, links=links),
            "totals": sorted(
                ((partner_names.get(p, "?"), t) for p, t in totals.items()), key=lambda row: -row[1].clicks
            )[:20],
            "totals_days": TOTALS_DAYS,
            "partners": _partners(),
            "form": form,
            "coupons": selectors.coupon_list(actor=actor, filters=filters)[:50],
            "flagged": selectors.flagged_count(actor=actor),
        },
    )


@staff_view
def conversions(request: HttpRequest) -> HttpResponse:
    """Conversions; ``?status=flagged`` is the review queue."""
    actor = actor_of(request)
    filters = ReferralFilters.from_mapping(request.GET)
    page = paginate(request, selectors.conversion_list(actor=actor, filters=filters), per_page=50)
    return render(
        request,
        "activity/referrals/conversions.html",
        {
            "filters": filters,
            "page": page,
            "statuses": Conversion.Status.choices,
            "kinds": Conversion.Kind.choices,
            "partners": _partners(),
            "can_review": actor.can(Perm.PARTNER_EDIT),
            "flagged": selectors.flagged_count(actor=actor),
        },
    )


@staff_view
@require_POST
def conversion_review(request: HttpRequest, public_id: str) -> HttpResponse:
    """Accept or reject a conversion (``decision`` = accept | reject), back to the list."""
    actor = actor_of(request)
    try:
        conversion = selectors.conversion_get(actor=actor, public_id=public_id)
    except Conversion.DoesNotExist:
        raise Http404 from None
    decision = request.POST.get("decision")
    note = request.POST.get("note", "")
    service: Any = {"accept": services.conversion_accept, "reject": services.conversion_reject}.get(
        decision or ""
    )
    if service is None:
        raise Http404
    try:
        service(actor=actor, conversion=conversion, note=note)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Conversion {decision}ed.")
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/activity/") else "activity:conversions")


urlpatterns: list[URLPattern] = [
    path("healthz", healthz, name="healthz"),
    path("referrals/", referrals, name="referrals"),
    path("referrals/conversions/", conversions, name="conversions"),
    path("referrals/conversions/<uuid:public_id>/review/", conversion_review, name="conversion_review"),
]
