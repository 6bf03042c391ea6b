"""The click redirect (``/r/<code>``, public) and the staff referral pages (links and coupons with their
forms, conversions review).

Parse → call one service/selector → render. Rows outside the actor's scope answer 404 like missing ones.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
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
from openprm.activity.forms import (
    CouponEditForm,
    CouponForm,
    LinkEditForm,
    LinkForm,
    TrackingHostsForm,
)
from openprm.activity.models import Conversion, Coupon, TrackingLink
from openprm.activity.selectors import referrals as selectors
from openprm.activity.selectors.referrals import ReferralFilters
from openprm.activity.services import conversions as conversion_services
from openprm.activity.services import referrals as services
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners.models import Partner, Program

TOTALS_DAYS = 30


# --- the redirect ---------------------------------------------------------------------------------------


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR; the first X-Forwarded-For address only behind a configured proxy."""
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:100]
    return str(request.META.get("REMOTE_ADDR", ""))[:100]


UNAVAILABLE = {
    # reason: (status, title, text) — the page says what happened, never where the link led or whose it is
    "unknown": (
        404,
        "This link does not exist",
        "There is no tracking link at this address. Check it for typos.",
    ),
    "inactive": (410, "This link has been deactivated", "The link was switched off by its owner."),
    "destination": (
        403,
        "This link cannot be followed",
        "The link leads to an address its vendor does not allow, so we do not send you there.",
    ),
}


def link_unavailable(request: HttpRequest, reason: str) -> HttpResponse:
    """The page a visitor sees instead of a redirect: unknown code (404), deactivated link (410) or a
    destination outside the allowed hosts (403). Standalone: no session, no cookies, no data."""
    status, title, text = UNAVAILABLE[reason]
    response = render(
        request,
        "activity/referrals/unavailable.html",
        {"status": status, "title": title, "text": text, "reason": reason},
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


def track_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Record the click and send the visitor on, with ``prm_click`` and the link's UTM parameters.

    Unknown and inactive codes, and links whose destination is outside the allowed hosts (checked at
    every click: the hosts may have shrunk since the link was made), record nothing and show a page
    saying so. HEAD (link previews) redirects without recording a click."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    click_id: str | None = None
    if request.method == "HEAD":
        link = services.link_active(code=code)
    else:
        recorded = services.click_record(
            code=code,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            referrer=request.META.get("HTTP_REFERER", ""),
        )
        link, click = recorded if recorded is not None else (None, None)
        click_id = click.click_id if click is not None else None
    if link is None:
        return link_unavailable(request, services.link_state(code=code))
    if not link.allowed:
        return link_unavailable(request, "destination")
    response = HttpResponseRedirect(services.destination_url(link=link, click_id=click_id))
    response["Cache-Control"] = "no-store"  # every visit must reach us to be counted
    response["Referrer-Policy"] = "no-referrer-when-downgrade"
    return response


def healthz(request: HttpRequest) -> HttpResponse:
    """A bare view (no database): the baseline of the redirect benchmark, and a liveness probe."""
    return HttpResponse("ok", content_type="text/plain")


# --- staff pages ----------------------------------------------------------------------------------------


def _partners() -> list[tuple[str, str]]:
    return [
        (str(pid), name)
        for pid, name in Partner.objects.filter(archived_at__isnull=True)
        .order_by("name")
        .values_list("public_id", "name")
    ]


def _programs() -> list[tuple[str, str]]:
    return [(str(pid), name) for pid, name in Program.objects.values_list("public_id", "name")]


def _owner_ids(form: Any, data: Any) -> Any:
    """The form's partner/program public ids as the primary keys the services take (the choices came
    from the scoped managers, so they are the actor's own)."""
    if form.cleaned_data.get("partner"):
        partner = Partner.objects.filter(public_id=form.cleaned_data["partner"]).first()
        if partner is not None:
            data["partner_id"] = partner.pk
    if "program" in form.cleaned_data:
        program_id = form.cleaned_data["program"]
        program = Program.objects.filter(public_id=program_id).first() if program_id else None
        data["program_id"] = program.pk if program is not None else None
    return data


def _saved(form: Any, save: Any) -> Any:
    """Run the service on a valid form; its ValidationError goes to the form's fields (None = not saved)."""
    if not form.is_valid():
        return None
    try:
        return save(_owner_ids(form, form.to_input()))
    except ValidationError as exc:
        add_service_errors(form, exc)
        return None


def _back(request: HttpRequest) -> HttpResponse:
    back = request.POST.get("next", "")
    return redirect(back if back.startswith("/activity/referrals/") else "activity:referrals")


def _create_forms(
    request: HttpRequest, partners: list[tuple[str, str]]
) -> tuple[Any, Any, HttpResponse | None]:
    """The new-link and new-coupon forms (the page has both; each names its button) and, when a posted
    one was saved, the redirect back to the list."""
    actor = actor_of(request)
    programs = _programs()
    posted = request.POST if request.method == "POST" else None
    adding_coupon = "add_coupon" in request.POST
    form = LinkForm(None if adding_coupon else posted, partners=partners, programs=programs)
    coupon_form = CouponForm(
        posted if adding_coupon else None, partners=partners, programs=programs, prefix="coupon"
    )
    if adding_coupon:
        coupon = _saved(coupon_form, lambda data: services.coupon_create(actor=actor, data=data))
        if coupon is not None:
            messages.success(request, f"Created the coupon {coupon.code}.")
            return form, coupon_form, redirect("activity:referrals")
    elif posted is not None:
        link = _saved(form, lambda data: services.link_create(actor=actor, data=data))
        if link is not None:
            messages.success(request, f"Created /r/{link.code}.")
            return form, coupon_form, redirect("activity:referrals")
    return form, coupon_form, None


def _partner_totals(actor: Any) -> list[tuple[str, Any]]:
    """The 20 partners with the most clicks in the last TOTALS_DAYS days (from the rollups), by name."""
    since = timezone.now().date() - datetime.timedelta(days=TOTALS_DAYS)
    totals = selectors.referral_totals(actor=actor, since=since)
    partner_names = dict(Partner.objects.filter(pk__in=list(totals)).values_list("pk", "name"))
    return sorted(
        ((partner_names.get(p, "?"), t) for p, t in totals.items()), key=lambda row: -row[1].clicks
    )[:20]


@staff_view
def referrals(request: HttpRequest) -> HttpResponse:
    """Tracking links (with clicks and conversions), coupons, each partner's last-30-day totals from the
    rollups, and (partner managers, admins) the forms for a new link and a new coupon."""
    actor = actor_of(request)
    if request.method == "POST":
        actor.require(Perm.PARTNER_EDIT)
    filters = ReferralFilters.from_mapping(request.GET)
    partners = _partners()
    form = coupon_form = None
    if actor.can(Perm.PARTNER_EDIT):
        form, coupon_form, done = _create_forms(request, partners)
        if done is not None:
            return done
    page = paginate(request, selectors.link_list(actor=actor, filters=filters), per_page=50)
    links = list(page.object_list)
    coupon_page = Paginator(selectors.coupon_list(actor=actor, filters=filters), 50).get_page(
        request.GET.get("coupon_page")
    )
    return render(
        request,
        "activity/referrals/links.html",
        {
            "filters": filters,
            "page": page,
            "links": links,
            "clicks": selectors.link_click_counts(actor=actor, links=links),
            "conversions": selectors.link_conversion_counts(actor=actor, links=links),
            "totals": _partner_totals(actor),
            "totals_days": TOTALS_DAYS,
            "partners": partners,
            "form": form,
            "coupon_form": coupon_form,
            "coupon_page": coupon_page,
            "flagged": selectors.flagged_count(actor=actor),
            "hosts_configured": selectors.tracking_hosts_get(actor=actor).configured,
        },
    )


def _link_or_404(request: HttpRequest, public_id: Any) -> TrackingLink:
    try:
        return selectors.link_get(actor=actor_of(request), public_id=public_id)
    except TrackingLink.DoesNotExist:
        raise Http404 from None


def _coupon_or_404(request: HttpRequest, public_id: Any) -> Coupon:
    try:
        return selectors.coupon_get(actor=actor_of(request), public_id=public_id)
    except Coupon.DoesNotExist:
        raise Http404 from None


def _edit_page(request: HttpRequest, form: Any, title: str, subject: Any) -> HttpResponse:
    return render(request, "activity/referrals/edit.html", {"form": form, "title": title, "subject": subject})


@staff_view
def link_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Edit a tracking link (destination, code, campaign, UTM parameters, program, active)."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    link = _link_or_404(request, public_id)
    initial = {
        name: getattr(link, name)
        for name in (
            "code",
            "destination",
            "campaign",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "is_active",
        )
    }
    initial["program"] = str(link.program.public_id) if link.program is not None else ""
    form = LinkEditForm(request.POST or None, initial=initial, programs=_programs())
    if request.method == "POST" and _saved(
        form, lambda data: services.link_update(actor=actor, link=link, data=data)
    ):
        messages.success(request, f"Saved /r/{link.code}.")
        return redirect("activity:referrals")
    return _edit_page(request, form, f"Tracking link /r/{link.code}", link)


@staff_view
def coupon_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Edit a coupon (code, description, program, active)."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    coupon = _coupon_or_404(request, public_id)
    initial = {
        "code": coupon.code,
        "description": coupon.description,
        "is_active": coupon.is_active,
        "program": str(coupon.program.public_id) if coupon.program is not None else "",
    }
    form = CouponEditForm(request.POST or None, initial=initial, programs=_programs())
    if request.method == "POST" and _saved(
        form, lambda data: services.coupon_update(actor=actor, coupon=coupon, data=data)
    ):
        messages.success(request, f"Saved the coupon {coupon.code}.")
        return redirect("activity:referrals")
    return _edit_page(request, form, f"Coupon {coupon.code}", coupon)


def _active_flag(request: HttpRequest) -> bool:
    value = request.POST.get("active")
    if value not in ("0", "1"):
        raise Http404
    return value == "1"


@staff_view
@require_POST
def link_set_active(request: HttpRequest, public_id: str) -> HttpResponse:
    """Deactivate (``active=0``: /r/<code> answers 410 from then on) or reactivate (``active=1``) a link."""
    actor = actor_of(request)
    link = _link_or_404(request, public_id)
    active = _active_flag(request)
    services.link_update(actor=actor, link=link, data={"is_active": active})
    messages.success(request, f"{'Reactivated' if active else 'Deactivated'} /r/{link.code}.")
    return _back(request)


@staff_view
@require_POST
def coupon_set_active(request: HttpRequest, public_id: str) -> HttpResponse:
    """Deactivate or reactivate a coupon; back to the list."""
    actor = actor_of(request)
    coupon = _coupon_or_404(request, public_id)
    active = _active_flag(request)
    services.coupon_update(actor=actor, coupon=coupon, data={"is_active": active})
    messages.success(request, f"{'Reactivated' if active else 'Deactivated'} the coupon {coupon.code}.")
    return _back(request)


def _hosts_forms(request: HttpRequest, hosts: Any, target: str) -> dict[str, TrackingHostsForm]:
    """Admins: one hosts form for the workspace and one per program, keyed "workspace" or the program's
    public id; the posted one (``target``) is bound to the request."""
    forms_by_target: dict[str, TrackingHostsForm] = {
        "workspace": TrackingHostsForm(initial={"hosts": "\n".join(hosts.workspace)}, prefix="workspace")
    }
    for entry in hosts.programs:
        key = str(entry.program.public_id)
        forms_by_target[key] = TrackingHostsForm(initial={"hosts": "\n".join(entry.hosts)}, prefix=key)
    if request.method == "POST":
        if target not in forms_by_target:
            raise Http404
        forms_by_target[target] = TrackingHostsForm(request.POST, prefix=target)
    for key, form in forms_by_target.items():
        if key != "workspace":
            form.fields["hosts"].widget.attrs.update(rows=2, placeholder="Empty: the workspace's hosts")
    return forms_by_target


def _hosts_saved(request: HttpRequest, hosts: Any, form: TrackingHostsForm, target: str) -> bool:
    """Save the posted hosts form of ``target`` (the service's errors go to the form); True when saved."""
    program = next((e.program for e in hosts.programs if str(e.program.public_id) == target), None)
    if not form.is_valid():
        return False
    try:
        saved = services.tracking_hosts_set(
            actor=actor_of(request), hosts=form.cleaned_data["hosts"], program=program
        )
    except ValidationError as exc:
        form.add_error("hosts", exc.message_dict.get("hosts", exc.messages))
        return False
    where = program.name if program is not None else "the workspace"
    listed = ", ".join(saved) if saved else "none" if program is None else "the workspace's"
    messages.success(request, f"Allowed hosts for {where}: {listed}.")
    return True


@staff_view
def destinations(request: HttpRequest) -> HttpResponse:
    """Where tracking links may lead: the workspace's allowed hosts and each program's own list (admins
    edit, other staff read), and the active links outside them (the redirect refuses those; staff fix
    or deactivate them), a page at a time."""
    actor = actor_of(request)
    if request.method == "POST":
        actor.require(Perm.WORKSPACE_ADMIN)
    can_admin = actor.can(Perm.WORKSPACE_ADMIN)
    hosts = selectors.tracking_hosts_get(actor=actor)
    target = request.POST.get("target", "") if request.method == "POST" else ""
    forms_by_target = _hosts_forms(request, hosts, target) if can_admin else {}
    if request.method == "POST" and _hosts_saved(request, hosts, forms_by_target[target], target):
        return redirect("activity:destinations")
    outside = selectors.links_outside_hosts(actor=actor, hosts=hosts)
    page = Paginator(outside, 50).get_page(request.GET.get("page"))
    links = selectors.links_by_ids(actor=actor, ids=list(page.object_list))
    return render(
        request,
        "activity/referrals/destinations.html",
        {
            "hosts": hosts,
            "can_admin": can_admin,
            "can_edit": actor.can(Perm.PARTNER_EDIT),
            "workspace_form": forms_by_target.get("workspace"),
            "programs": [(e, forms_by_target.get(str(e.program.public_id))) for e in hosts.programs],
            "page": page,
            "outside": links,
            "outside_count": len(outside),
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
            "can_review": actor.can(Perm.CONVERSION_REVIEW),
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
    service: Any = {
        "accept": conversion_services.conversion_accept,
        "reject": conversion_services.conversion_reject,
    }.get(decision or "")
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
    path("referrals/links/<uuid:public_id>/", link_edit, name="link_edit"),
    path("referrals/links/<uuid:public_id>/active/", link_set_active, name="link_set_active"),
    path("referrals/coupons/<uuid:public_id>/", coupon_edit, name="coupon_edit"),
    path("referrals/coupons/<uuid:public_id>/active/", coupon_set_active, name="coupon_set_active"),
    path("referrals/destinations/", destinations, name="destinations"),
    path("referrals/conversions/", conversions, name="conversions"),
    path("referrals/conversions/<uuid:public_id>/review/", conversion_review, name="conversion_review"),
]
