"""The partner settings page: admins define the workspace's partner types and custom partner fields."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors, services
from openprm.partners.forms import CustomFieldForm, PartnerTypeForm
from openprm.partners.views.common import uuids


@staff_view
def workspace_settings(request: HttpRequest) -> HttpResponse:
    """Admins define the workspace's partner types and custom partner fields."""
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    type_form = PartnerTypeForm(request.POST if "add_type" in request.POST else None, prefix="type")
    field_form = CustomFieldForm(request.POST if "add_field" in request.POST else None, prefix="field")
    try:
        if "add_type" in request.POST and type_form.is_valid():
            services.partner_type_create(actor=actor, **type_form.cleaned_data)
            messages.success(request, "Partner type added.")
            return redirect("partners:settings")
        if "add_field" in request.POST and field_form.is_valid():
            data = {**field_form.cleaned_data, "choices": field_form.choice_list()}
            services.custom_field_create(actor=actor, **data)
            messages.success(request, "Custom field added.")
            return redirect("partners:settings")
        if "delete_field" in request.POST:
            chosen = uuids([request.POST["delete_field"]])
            for item in selectors.custom_field_list(actor=actor).filter(public_id__in=chosen):
                services.custom_field_delete(actor=actor, definition=item)
                messages.success(request, f"Custom field “{item.label}” removed.")
            return redirect("partners:settings")
    except ValidationError as exc:
        add_service_errors(field_form if "add_field" in request.POST else type_form, exc)
    ref = selectors.reference_data(actor=actor)
    return render(
        request,
        "partners/settings.html",
        {
            "type_form": type_form,
            "field_form": field_form,
            "types": ref["types"],
            "custom_fields": selectors.custom_field_list(actor=actor),
            "programs": selectors.program_list(actor=actor),
        },
    )
