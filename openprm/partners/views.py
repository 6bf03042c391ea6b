"""Staff pages for the partner database. Parse → call one service/selector → render."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openprm.accounts.selectors import staff_user_list
from openprm.core.http import actor_of, paginate, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors, services
from openprm.partners.forms import (
    AgreementForm,
    BulkForm,
    ContactForm,
    CustomFieldForm,
    InviteForm,
    PartnerForm,
    PartnerTypeForm,
    ProgramForm,
    SavedViewForm,
    TierChangeForm,
    TierForm,
    partner_initial,
)
from openprm.partners.models import (
    Agreement,
    Contact,
    CustomFieldDefinition,
    Partner,
    PartnerStatus,
    Program,
    Tier,
)
from openprm.partners.selectors import ARCHIVED_CHOICES, CONTRACT_CHOICES, PartnerFilters


def _partner_or_404(request: HttpRequest, public_id: Any) -> Partner:
    try:
        return selectors.partner_get(actor=actor_of(request), public_id=public_id)
    except Partner.DoesNotExist:
        raise Http404 from None


def _child_or_404(getter: Any, request: HttpRequest, public_id: Any) -> Any:
    try:
        return getter(actor=actor_of(request), public_id=public_id)
    except (Contact.DoesNotExist, Agreement.DoesNotExist):
        raise Http404 from None


def _list_context(request: HttpRequest) -> dict[str, Any]:
    actor = actor_of(request)
    filters = PartnerFilters.from_mapping(request.GET)
    page = paginate(request, selectors.partner_list(actor=actor, filters=filters))
    params = {k: v for k, v in request.GET.items() if k not in {"page"} and v}
    return {
        "filters": filters,
        "page": page,
        "query": urlencode(params),
        "query_without_sort": urlencode({k: v for k, v in params.items() if k != "sort"}),
    }


@staff_view
def partner_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context = _list_context(request)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "partners/_results.html", context)
    context.update(
        selectors.reference_data(actor=actor),
        statuses=PartnerStatus.choices,
        contracts=CONTRACT_CHOICES,
        archived_choices=ARCHIVED_CHOICES,
        owners=staff_user_list(actor=actor),
        saved_views=selectors.saved_view_list(actor=actor),
        bulk_form=BulkForm(),
    )
    return render(request, "partners/list.html", context)


@staff_view
@require_POST
def saved_view_save(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    form = SavedViewForm(request.POST)
    if form.is_valid():
        try:
            view = services.saved_view_save(
                actor=actor, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Saved view “{view.name}”.")
            return redirect(reverse("partners:list") + "?" + view.query)
    else:
        messages.error(request, "Give the view a name (at most 80 characters).")
    return redirect(reverse("partners:list") + "?" + request.POST.get("query", ""))


@staff_view
@require_POST
def saved_view_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    view = selectors.saved_view_list(actor=actor).filter(public_id=public_id).first()
    if view is None:
        raise Http404
    services.saved_view_delete(actor=actor, view=view)
    messages.success(request, f"Deleted view “{view.name}”.")
    return redirect("partners:list")


@staff_view
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    form = BulkForm(request.POST)
    ids = request.POST.getlist("partners")
    back = reverse("partners:list") + "?" + request.POST.get("query", "")
    if not form.is_valid() or not ids:
        messages.error(request, "Choose an action and at least one partner.")
        return redirect(back)
    partners = list(selectors.partner_list(actor=actor).filter(public_id__in=_uuids(ids)))
    action = form.cleaned_data["action"]
    kwargs: dict[str, Any] = {}
    if action == "owner":
        kwargs["owner_email"] = form.cleaned_data["owner"]
    elif action == "tag":
        if not form.cleaned_data["tag"]:
            messages.error(request, "Type the tag to add.")
            return redirect(back)
        kwargs["add_tags"] = [form.cleaned_data["tag"]]
    else:
        program, _, tier = form.cleaned_data["tier"].partition("::")
        kwargs["tier"] = (program, tier)
    try:
        count = services.partners_bulk_update(actor=actor, partners=partners, **kwargs)
    except ValidationError as exc:
        messages.error(request, "Nothing changed: " + "; ".join(exc.messages))
    else:
        messages.success(request, f"Updated {count} partner{'s' if count != 1 else ''}.")
    return redirect(back)


def _uuids(values: list[str]) -> list[Any]:
    import uuid

    out = []
    for value in values:
        try:
            out.append(uuid.UUID(value))
        except ValueError:
            continue
    return out


def _partner_form(request: HttpRequest, data: Any = None, initial: Any = None) -> PartnerForm:
    actor = actor_of(request)
    ref = selectors.reference_data(actor=actor)
    return PartnerForm(
        data,
        initial=initial,
        types=ref["types"],
        owners=list(staff_user_list(actor=actor)),
        programs=ref["programs"],
        tiers=ref["tiers"],
        custom_fields=list(CustomFieldDefinition.objects.all()),
    )


@staff_view
def partner_create(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    form = _partner_form(request, request.POST or None, initial={"status": PartnerStatus.APPLICANT})
    if request.method == "POST" and form.is_valid():
        try:
            partner = services.partner_create(actor=actor, data=form.to_input())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Created {partner.name}.")
            return redirect("partners:detail", public_id=partner.public_id)
    return render(request, "partners/form.html", {"form": form, "partner": None})


@staff_view
def partner_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = _partner_or_404(request, public_id)
    form = _partner_form(request, request.POST or None, initial=partner_initial(partner))
    if request.method == "POST" and form.is_valid():
        try:
            services.partner_update(actor=actor, partner=partner, data=form.to_input())
        except ValidationError as exc:
            form.add_service_error(exc)
        else:
            messages.success(request, f"Saved {partner.name}.")
            return redirect("partners:detail", public_id=partner.public_id)
    return render(request, "partners/form.html", {"form": form, "partner": partner})


@staff_view
@require_POST
def partner_delete(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = _partner_or_404(request, public_id)
    if services.partner_delete(actor=actor, partner=partner) == "archived":
        messages.success(
            request,
            f"Archived {partner.name}: hidden from lists and its portal logins suspended. Restorable.",
        )
        return redirect("partners:detail", public_id=partner.public_id)
    messages.success(request, f"Deleted {partner.name} (it had no history).")
    return redirect("partners:list")


@staff_view
@require_POST
def partner_restore(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = _partner_or_404(request, public_id)
    services.partner_restore(actor=actor, partner=partner)
    messages.success(request, f"Restored {partner.name}.")
    return redirect("partners:detail", public_id=partner.public_id)


def _history(request: HttpRequest, partner: Partner) -> dict[str, Any]:
    actor = actor_of(request)
    entries = Paginator(selectors.partner_history(actor=actor, partner=partner), 20).get_page(
        request.GET.get("page")
    )
    return {"partner": partner, "history": entries}


@staff_view
def partner_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = _partner_or_404(request, public_id)
    context = {
        **_history(request, partner),
        "contacts": selectors.contact_list(actor=actor, partner=partner),
        "agreements": selectors.agreement_list(actor=actor, partner=partner),
        "last_contact_on": selectors.last_contact_on(partner=partner),
        "status_history": selectors.status_history(actor=actor, partner=partner),
        "tiers": selectors.reference_data(actor=actor)["tiers"],
        "custom_fields": CustomFieldDefinition.objects.all(),
        "invite_form": InviteForm(),
    }
    return render(request, "partners/detail.html", context)


@staff_view
def partner_history(request: HttpRequest, public_id: str) -> HttpResponse:
    partner = _partner_or_404(request, public_id)
    return render(request, "partners/_history.html", _history(request, partner))


@staff_view
@require_POST
def tier_change(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    partner = _partner_or_404(request, public_id)
    form = TierChangeForm(request.POST)
    if form.is_valid():
        try:
            services.partner_update(
                actor=actor,
                partner=partner,
                data={"tiers": {form.cleaned_data["program"]: form.cleaned_data["tier"] or None}},
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Tier changed.")
    return redirect("partners:detail", public_id=partner.public_id)


# --- contacts, agreements --------------------------------------------------------------


def _simple_form_page(
    request: HttpRequest,
    *,
    partner: Partner,
    form: Any,
    title: str,
    save: Any,
    upload: bool = False,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if k != "file"}
        try:
            save(data, form.cleaned_data.get("file") or None) if upload else save(data)
        except ValidationError as exc:
            from openprm.accounts.forms import add_service_errors

            add_service_errors(form, exc)
        else:
            messages.success(request, f"{title}: saved.")
            return redirect("partners:detail", public_id=partner.public_id)
    return render(request, "partners/child_form.html", {"form": form, "partner": partner, "title": title})


@staff_view
def contact_create(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = _partner_or_404(request, public_id)
    form = ContactForm(request.POST or None)
    return _simple_form_page(
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
    contact = _child_or_404(selectors.contact_get, request, public_id)
    form = ContactForm(request.POST or None, instance=None, initial=_initial(contact, ContactForm))
    return _simple_form_page(
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
    contact = _child_or_404(selectors.contact_get, request, public_id)
    services.contact_delete(actor=actor, contact=contact)
    messages.success(request, f"Removed contact {contact.name}.")
    return redirect("partners:detail", public_id=contact.partner.public_id)


@staff_view
@require_POST
def contact_invite(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PORTAL_INVITE)
    contact = _child_or_404(selectors.contact_get, request, public_id)
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


def _initial(instance: Any, form_class: Any) -> dict[str, Any]:
    return {name: getattr(instance, name) for name in form_class.Meta.fields if name != "file"}


@staff_view
def agreement_create(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.PARTNER_EDIT)
    partner = _partner_or_404(request, public_id)
    form = AgreementForm(request.POST or None, request.FILES or None)
    return _simple_form_page(
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
    agreement = _child_or_404(selectors.agreement_get, request, public_id)
    form = AgreementForm(
        request.POST or None, request.FILES or None, initial=_initial(agreement, AgreementForm)
    )
    return _simple_form_page(
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
    agreement = _child_or_404(selectors.agreement_get, request, public_id)
    services.agreement_delete(actor=actor, agreement=agreement)
    messages.success(request, f"Deleted agreement {agreement.title}.")
    return redirect("partners:detail", public_id=agreement.partner.public_id)


@staff_view
def agreement_file(request: HttpRequest, public_id: str) -> HttpResponseBase:
    agreement = _child_or_404(selectors.agreement_get, request, public_id)
    if not agreement.file:
        raise Http404
    return FileResponse(
        agreement.file.open("rb"), as_attachment=True, filename=agreement.file.name.rsplit("/", 1)[-1]
    )


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
            definition = CustomFieldDefinition.objects.filter(
                public_id__in=_uuids([request.POST["delete_field"]])
            )
            for item in definition:
                services.custom_field_delete(actor=actor, definition=item)
                messages.success(request, f"Custom field “{item.label}” removed.")
            return redirect("partners:settings")
    except ValidationError as exc:
        from openprm.accounts.forms import add_service_errors

        add_service_errors(field_form if "add_field" in request.POST else type_form, exc)
    ref = selectors.reference_data(actor=actor)
    return render(
        request,
        "partners/settings.html",
        {
            "type_form": type_form,
            "field_form": field_form,
            "types": ref["types"],
            "custom_fields": CustomFieldDefinition.objects.all(),
            "programs": selectors.program_list(actor=actor),
        },
    )


# --- programs ---------------------------------------------------------------------------


@staff_view
def program_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """A program: its settings and tiers with their partners; the active-partner share comes from the
    activity app (an HTMX panel, like the engagement panel of the partner page)."""
    actor = actor_of(request)
    try:
        program = selectors.program_get(actor=actor, public_id=public_id)
    except Program.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "partners/program_detail.html",
        {
            "program": program,
            "enrolled": selectors.program_tiers(actor=actor, program=program),
            "tier_form": TierForm(),
        },
    )


def _program_or_404(request: HttpRequest, public_id: Any) -> Program:
    try:
        return selectors.program_get(actor=actor_of(request), public_id=public_id)
    except Program.DoesNotExist:
        raise Http404 from None


def _program_form_page(request: HttpRequest, program: Program | None) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    form = ProgramForm(request.POST or None, initial=ProgramForm.initial_of(program))
    if request.method == "POST" and form.is_valid():
        try:
            if program is None:
                program = services.program_create(actor=actor, data=form.cleaned_data)  # type: ignore[arg-type]
                messages.success(request, f"Created the program {program.name}: add its tiers below.")
            else:
                services.program_update(actor=actor, program=program, data=form.cleaned_data)  # type: ignore[arg-type]
                messages.success(request, f"Saved {program.name}.")
        except ValidationError as exc:
            from openprm.accounts.forms import add_service_errors

            add_service_errors(form, exc)
        else:
            return redirect("partners:program_detail", public_id=program.public_id)
    return render(request, "partners/program_form.html", {"form": form, "program": program})


@staff_view
def program_create(request: HttpRequest) -> HttpResponse:
    return _program_form_page(request, None)


@staff_view
def program_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    return _program_form_page(request, _program_or_404(request, public_id))


@staff_view
@require_POST
def program_tiers(request: HttpRequest, public_id: str) -> HttpResponse:
    """Add, rename, move (up/down) or delete a tier of the program; one action per post."""
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    program = _program_or_404(request, public_id)
    action = request.POST.get("action", "")
    tier = None
    if action in ("rename", "up", "down", "delete"):
        tier = Tier.objects.filter(
            program=program, public_id__in=_uuids([request.POST.get("tier", "")])
        ).first()
        if tier is None:
            raise Http404
    try:
        if action == "add":
            tier = services.tier_create(actor=actor, program=program, name=request.POST.get("name", ""))
            messages.success(request, f"Added the tier {tier.name}.")
        elif action == "rename" and tier is not None:
            old = tier.name
            services.tier_rename(actor=actor, tier=tier, name=request.POST.get("name", ""))
            messages.success(request, f"Renamed {old} to {tier.name}.")
        elif action in ("up", "down") and tier is not None:
            services.tier_move(actor=actor, tier=tier, direction=action)
            messages.success(request, f"Moved {tier.name} {action}.")
        elif action == "delete" and tier is not None:
            services.tier_delete(actor=actor, tier=tier)
            messages.success(request, f"Removed the tier {tier.name}.")
        else:
            messages.error(request, "Choose what to do with the tier.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(reverse("partners:program_detail", args=[program.public_id]) + "#program-tiers")
