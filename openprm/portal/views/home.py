"""The portal's home page, the partner's contacts and its team (partner users and their roles)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from openprm.accounts import selectors as account_selectors
from openprm.accounts import services as account_services
from openprm.accounts.forms import PartnerUserForm, add_service_errors
from openprm.accounts.models import Membership
from openprm.core.http import actor_of, partner_view
from openprm.core.permissions import Perm, Role
from openprm.dashboards.filters import today as dashboard_today
from openprm.metrics.periods import Period
from openprm.partners import selectors, services
from openprm.partners.forms import ContactForm
from openprm.partners.models import Contact
from openprm.portal import selectors as portal_selectors
from openprm.portal.views.common import _own_partner
from openprm.scorecards import selectors as scorecard_selectors


@partner_view
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    partner = _own_partner(request)
    return render(
        request,
        "portal/home.html",
        {
            "partner": partner,
            "contacts": selectors.contact_list(actor=actor, partner=partner),
            "agreements": selectors.agreement_list(actor=actor, partner=partner),
            "can_edit_contacts": actor.can(Perm.CONTACT_EDIT_OWN),
            "summary": portal_selectors.portal_summary(actor=actor, partner=partner),
            "scorecard": scorecard_selectors.scorecard(
                actor=actor, partner=partner, period=Period.quarter_of(dashboard_today())
            ),
        },
    )


@partner_view
def contact_form(request: HttpRequest, public_id: str | None = None) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.CONTACT_EDIT_OWN)
    partner = _own_partner(request)
    contact = None
    if public_id is not None:
        try:
            contact = selectors.contact_get(actor=actor, public_id=public_id)
        except Contact.DoesNotExist:
            raise Http404 from None
    initial = {f: getattr(contact, f) for f in ContactForm.Meta.fields} if contact else None
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if contact is None:
                services.contact_create(actor=actor, partner=partner, data=form.cleaned_data)
            else:
                services.contact_update(actor=actor, contact=contact, data=form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, "Contact saved.")
            return redirect("portal:home")
    return render(request, "portal/contact_form.html", {"form": form, "contact": contact})


@partner_view
def team(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PORTAL_TEAM)
    form = PartnerUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = account_services.user_invite(
                actor=actor,
                partner_id=actor.partner_id,
                base_url=request.build_absolute_uri("/"),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Invited {membership.user.email}; they were e-mailed a link.")
            return redirect("portal:team")
    memberships = account_selectors.membership_list(actor=actor, partner_id=actor.partner_id)
    roles = [(r.value, r.label) for r in (Role.PARTNER_ADMIN, Role.PARTNER_MANAGER, Role.PARTNER_REP)]
    return render(request, "portal/team.html", {"form": form, "memberships": memberships, "roles": roles})


@partner_view
@require_POST
def team_member(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PORTAL_TEAM)
    try:
        membership = account_selectors.membership_get(actor=actor, public_id=public_id)
    except (Membership.DoesNotExist, ValidationError):
        raise Http404 from None
    role = request.POST.get("role") or None
    active = request.POST.get("is_active")
    try:
        account_services.membership_update(
            actor=actor,
            membership=membership,
            role=role,
            is_active=None if active is None else active == "1",
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Updated {membership.user.email}.")
    return redirect("portal:team")
