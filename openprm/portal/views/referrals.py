"""Referral tracking. The partner's own tracking links (any partner user may create one) and the
conversions attributed to their partner; the scoped managers keep other partners' rows out (404 /
absent)."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from openprm.accounts.forms import add_service_errors
from openprm.activity.forms import LinkForm
from openprm.activity.models import Conversion, TrackingLink
from openprm.activity.selectors import referrals as referral_selectors
from openprm.activity.services import referrals as referral_services
from openprm.core.http import actor_of, paginate, partner_view


@partner_view
def link_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = LinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            link = referral_services.link_create(actor=actor, data=form.to_input())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Created {request.build_absolute_uri('/r/' + link.code)}")
            return redirect("portal:links")
    page = paginate(request, referral_selectors.link_list(actor=actor), per_page=25)
    links = list(page.object_list)
    return render(
        request,
        "portal/links.html",
        {
            "form": form,
            "page": page,
            "links": links,
            "base_url": request.build_absolute_uri("/r/"),
            "clicks": referral_selectors.link_click_counts(actor=actor, links=links),
            "conversions": referral_selectors.link_conversion_counts(actor=actor, links=links),
            "coupons": referral_selectors.coupon_list(actor=actor).filter(is_active=True)[:50],
            "allowed_hosts": referral_selectors.tracking_hosts_for(
                workspace_id=actor.workspace_id, program=None
            ),
        },
    )


@partner_view
@require_POST
def link_set_active(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Deactivate (``active=0``: the link answers 404 from then on) or reactivate one of the partner's
    own links; other partners' links are 404 (the scoped selector does not find them)."""
    actor = actor_of(request)
    value = request.POST.get("active")
    if value not in ("0", "1"):
        raise Http404
    try:
        link = referral_selectors.link_get(actor=actor, public_id=public_id)
    except TrackingLink.DoesNotExist:
        raise Http404 from None
    referral_services.link_update(actor=actor, link=link, data={"is_active": value == "1"})
    messages.success(request, f"{'Reactivated' if value == '1' else 'Deactivated'} /r/{link.code}.")
    return redirect("portal:links")


@partner_view
def conversion_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    filters = referral_selectors.ReferralFilters.from_mapping(request.GET)
    filters.partner = ""  # always their own partner (the scope), whatever the URL says
    page = paginate(request, referral_selectors.conversion_list(actor=actor, filters=filters), per_page=25)
    return render(
        request,
        "portal/conversions.html",
        {
            "page": page,
            "filters": filters,
            # A fraud flag is the vendor's: partners see such conversions as "In review".
            "statuses": [
                (v, "In review" if v == Conversion.Status.FLAGGED else label)
                for v, label in Conversion.Status.choices
            ],
            "kinds": Conversion.Kind.choices,
        },
    )
