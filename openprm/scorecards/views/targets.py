"""Target pages: the list (filters, attainment, pace) with the form to set or change a target and the CSV
import (staff); one target with its history. Partner users see their own partner's, tiers' and programs'
targets here (never notes) and partner admins accept their partner's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openprm.accounts.forms import add_service_errors
from openprm.accounts.selectors import staff_user_list
from openprm.core.http import actor_of, member_view, staff_view
from openprm.core.permissions import Perm, Role
from openprm.metrics.figures import staff_only
from openprm.partners.models import Partner
from openprm.scorecards import selectors, services
from openprm.scorecards.filters import SCOPES, TargetFilters
from openprm.scorecards.forms import ImportForm, TargetForm, metric_choices
from openprm.scorecards.models import Target


def _form(request: HttpRequest, actor: Any, editing: Target | None) -> TargetForm:
    initial = None
    if editing is not None:
        initial = {
            "metric": editing.metric,
            "period": editing.period,
            "scope": editing.scope,
            "partner": str(editing.partner.public_id) if editing.partner else "",
            "tier": str(editing.tier.public_id) if editing.tier else "",
            "program": str(editing.program.public_id) if editing.program else "",
            "value": editing.value.normalize(),
            "owner": str(editing.owner.public_id) if editing.owner else "",
            "notes": editing.notes,
        }
    return TargetForm(
        request.POST if request.POST.get("action") == "save" else None,
        initial=initial,
        partners=Partner.objects.filter(archived_at__isnull=True)
        .order_by("name")
        .only("public_id", "name")[:2000],
        tiers=selectors.tier_choices(actor=actor),
        programs=selectors.program_choices(actor=actor),
        owners=staff_user_list(actor=actor),
        editing=editing is not None,
    )


def _save(request: HttpRequest, actor: Any, form: TargetForm, editing: Target | None) -> Target | None:
    if not form.is_valid():
        return None
    data = form.cleaned_data
    owner = (
        staff_user_list(actor=actor).filter(public_id=data["owner"]).first() if data.get("owner") else None
    )
    try:
        if editing is not None:
            return services.target_update(
                actor=actor,
                target=editing,
                data={"value": data["value"], "owner": owner, "notes": data["notes"]},
            )
        scope = data["scope"]
        refs: dict[str, Any] = {"partner": None, "tier": None, "program": None}
        chosen = data.get(scope)
        if not chosen:
            form.add_error(scope, f"Choose the {scope}.")
            return None
        if scope == "partner":
            refs["partner"] = Partner.objects.filter(public_id=chosen).first()
        elif scope == "tier":
            refs["tier"] = next(
                (t for t in selectors.tier_choices(actor=actor) if str(t.public_id) == chosen), None
            )
        else:
            refs["program"] = next(
                (p for p in selectors.program_choices(actor=actor) if str(p.public_id) == chosen), None
            )
        if refs[scope] is None:
            form.add_error(scope, "Not found.")
            return None
        payload: dict[str, Any] = {
            "metric": data["metric"],
            "period": data["period"],
            "value": data["value"],
            "owner": owner,
            "notes": data["notes"],
            **refs,
        }
        return services.target_create(actor=actor, data=payload)  # type: ignore[arg-type]
    except ValidationError as exc:
        add_service_errors(form, exc)
    return None


@member_view
def targets(request: HttpRequest) -> HttpResponse:
    """The list; staff also set (POST action=save), change (``?edit=<id>``) and import (action=import)."""
    actor = actor_of(request)
    actor.require(Perm.PARTNER_VIEW)
    can_edit = actor.is_staff and actor.can(Perm.PARTNER_EDIT)
    editing: Target | None = None
    edit_id = request.POST.get("target") or request.GET.get("edit")
    if edit_id and can_edit:
        try:
            editing = selectors.target_get(actor=actor, public_id=edit_id)
        except Target.DoesNotExist:
            raise Http404 from None
    form = _form(request, actor, editing) if can_edit else None
    upload = ImportForm(
        request.POST if request.POST.get("action") == "import" else None, request.FILES or None
    )
    import_result = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "accept":
            return _accept(request, actor)
        if not can_edit:
            raise PermissionDenied("Only staff set targets")
        if action == "save" and form is not None:
            saved = _save(request, actor, form, editing)
            if saved is not None:
                messages.success(request, f"Saved the {saved.metric} target for {saved.period}.")
                return redirect(reverse("scorecards:targets") + "#target-" + str(saved.public_id))
        elif action == "delete" and editing is not None:
            services.target_delete(actor=actor, target=editing)
            messages.success(request, "Removed the target.")
            return redirect("scorecards:targets")
        elif action == "import" and upload.is_valid():
            raw = upload.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = ""
                upload.add_error("file", "The file is not UTF-8 text.")
            if text:
                import_result = services.targets_import_csv(
                    actor=actor, text=text, dry_run=upload.cleaned_data["dry_run"]
                )
                if not import_result.errors:
                    verb = "Would set" if upload.cleaned_data["dry_run"] else "Set"
                    messages.success(
                        request,
                        f"{verb} {import_result.created} new target(s), changed {import_result.updated}, "
                        f"{import_result.unchanged} unchanged.",
                    )
                    if not upload.cleaned_data["dry_run"]:
                        return redirect("scorecards:targets")
    filters = TargetFilters.from_mapping(request.GET)
    queryset = selectors.target_list(actor=actor, filters=filters)
    page = Paginator(queryset, 50).get_page(request.GET.get("page"))
    progress = selectors.target_progress(actor=actor, targets=list(page.object_list))
    return render(
        request,
        "scorecards/targets.html",
        {
            "page": page,
            "progress": progress,
            "filters": filters,
            "scopes": SCOPES,
            "metrics": [c for c in metric_choices() if not actor.is_partner_user or not staff_only(c[0])],
            "programs": selectors.program_choices(actor=actor),
            "form": form,
            "editing": editing,
            "upload": upload,
            "import_result": import_result,
            "can_edit": can_edit,
            "can_accept": actor.role == Role.PARTNER_ADMIN,
            "show_notes": actor.is_staff,
        },
    )


def _accept(request: HttpRequest, actor: Any) -> HttpResponse:
    try:
        target = selectors.target_get(actor=actor, public_id=request.POST.get("target"))
    except Target.DoesNotExist:
        raise Http404 from None
    services.target_accept(actor=actor, target=target)
    messages.success(request, f"Accepted the {target.metric} target for {target.period}.")
    return redirect(reverse("scorecards:targets") + "#target-" + str(target.public_id))


@staff_view
def target(request: HttpRequest, target_id: str) -> HttpResponse:
    """One target with its progress and history."""
    actor = actor_of(request)
    try:
        found = selectors.target_get(actor=actor, public_id=target_id)
    except Target.DoesNotExist:
        raise Http404 from None
    return render(
        request,
        "scorecards/target.html",
        {
            "target": found,
            "progress": selectors.target_progress(actor=actor, targets=[found])[0],
            "history": selectors.target_history(actor=actor, target=found),
            "can_edit": actor.can(Perm.PARTNER_EDIT),
        },
    )
