"""Staff pages of a partner's agreements and their signed files."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors, services
from openprm.partners.forms import AgreementForm
from openprm.partners.models import Agreement
from openprm.partners.views.common import form_page, found_or_404, initial_of, partner_or_404


def _agreement_or_404(request: HttpRequest, public_id: str) -> Agreement:
    agreement: Agreement = found_or_404(selectors.agreement_get, request, public_id)
    return agreement


@staff_view
def agreement_create(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = partner_or_404(request, public_id)
    form = AgreementForm(request.POST or None, request.FILES or None)
    return form_page(
        request,
        partner=partner,
        form=form,
        title="New agreement",
        upload=True,
        save=lambda data, upload: services.agreement_create(
            actor=actor, partner=partner, data=data, upload=upload
        ),
    )


@staff_view
def agreement_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    agreement = _agreement_or_404(request, public_id)
    form = AgreementForm(
        request.POST or None, request.FILES or None, initial=initial_of(agreement, AgreementForm)
    )
    return form_page(
        request,
        partner=agreement.partner,
        form=form,
        title=f"Agreement {agreement.title}",
        upload=True,
        save=lambda data, upload: services.agreement_update(
            actor=actor, agreement=agreement, data=data, upload=upload
        ),
    )


@staff_view
@require_POST
def agreement_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    agreement = _agreement_or_404(request, public_id)
    services.agreement_delete(actor=actor, agreement=agreement)
    messages.success(request, f"Deleted agreement {agreement.title}.")
    return redirect("partners:detail", public_id=agreement.partner.public_id)


@staff_view
def agreement_file(request: HttpRequest, public_id: str) -> HttpResponseBase:
    agreement = _agreement_or_404(request, public_id)
    if not agreement.file:
        raise Http404
    return FileResponse(
        agreement.file.open("rb"), as_attachment=True, filename=agreement.file.name.rsplit("/", 1)[-1]
    )
