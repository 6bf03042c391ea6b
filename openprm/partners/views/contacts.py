"""Staff pages of a partner's contacts, and inviting one to the portal."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors, services
from openprm.partners.forms import ContactForm, InviteForm
from openprm.partners.models import Contact
from openprm.partners.views.common import form_page, found_or_404, initial_of, partner_or_404


def _contact_or_404(request: HttpRequest, public_id: str) -> Contact:
    contact: Contact = found_or_404(selectors.contact_get, request, public_id)
    return contact


@staff_view
def contact_create(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = partner_or_404(request, public_id)
    form = ContactForm(request.POST or None)
    return form_page(
        request,
        partner=partner,
        form=form,
        title="New contact",
        save=lambda data: services.contact_create(actor=actor, partner=partner, data=data),
    )


@staff_view
def contact_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    contact = _contact_or_404(request, public_id)
    form = ContactForm(request.POST or None, instance=None, initial=initial_of(contact, ContactForm))
    return form_page(
        request,
        partner=contact.partner,
        form=form,
        title=f"Contact {contact.name}",
        save=lambda data: services.contact_update(actor=actor, contact=contact, data=data),
    )


@staff_view
@require_POST
def contact_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    contact = _contact_or_404(request, public_id)
    services.contact_delete(actor=actor, contact=contact)
    messages.success(request, f"Removed contact {contact.name}.")
    return redirect("partners:detail", public_id=contact.partner.public_id)


@staff_view
@require_POST
def contact_invite(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PORTAL_INVITE)
    contact = _contact_or_404(request, public_id)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            services.contact_invite(
                actor=actor,
                contact=contact,
                role=form.cleaned_data["role"],
                base_url=request.build_absolute_uri("/"),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Invited {contact.email} to the portal; they were e-mailed a link.")
    return redirect("partners:detail", public_id=contact.partner.public_id)
