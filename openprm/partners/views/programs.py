"""Staff pages of programs: the program with its tiers and their partners, its form, and the tier
actions (add, rename, move, delete)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from openprm.accounts.forms import add_service_errors
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.partners import selectors, services
from openprm.partners.forms import ProgramForm, TierForm
from openprm.partners.models import Program, Tier
from openprm.partners.views.common import found_or_404, program_or_404


@staff_view
def program_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """A program: its settings and tiers with their partners; the active-partner share comes from the
    metrics app (an HTMX panel, like the engagement panel of the partner page)."""
    actor = actor_of(request)
    program = program_or_404(request, public_id)
    return render(
        request,
        "partners/program_detail.html",
        {
            "program": program,
            "enrolled": selectors.program_tiers(actor=actor, program=program),
            "tier_form": TierForm(),
        },
    )


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
            add_service_errors(form, exc)
        else:
            return redirect("partners:program_detail", public_id=program.public_id)
    return render(request, "partners/program_form.html", {"form": form, "program": program})


@staff_view
def program_create(request: HttpRequest) -> HttpResponse:
    return _program_form_page(request, None)


@staff_view
def program_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    return _program_form_page(request, program_or_404(request, public_id))


def _tier_of(request: HttpRequest, program: Program) -> Tier:
    """The program's tier the post names; 404 for a tier that is missing or of another program."""
    tier: Tier = found_or_404(selectors.tier_get, request, request.POST.get("tier", ""))
    if tier.program_id != program.pk:
        raise Http404
    return tier


def _tier_action(request: HttpRequest, program: Program, action: str) -> str:
    """Do the tier action; the message saying what was done."""
    actor = actor_of(request)
    if action == "add":
        tier = services.tier_create(actor=actor, program=program, name=request.POST.get("name", ""))
        return f"Added the tier {tier.name}."
    tier = _tier_of(request, program)
    if action == "rename":
        old = tier.name
        services.tier_rename(actor=actor, tier=tier, name=request.POST.get("name", ""))
        return f"Renamed {old} to {tier.name}."
    if action in ("up", "down"):
        services.tier_move(actor=actor, tier=tier, direction=action)
        return f"Moved {tier.name} {action}."
    services.tier_delete(actor=actor, tier=tier)
    return f"Removed the tier {tier.name}."


@staff_view
@require_POST
def program_tiers(request: HttpRequest, public_id: str) -> HttpResponse:
    """Add, rename, move (up/down) or delete a tier of the program; one action per post."""
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    program = program_or_404(request, public_id)
    action = request.POST.get("action", "")
    if action in ("add", "rename", "up", "down", "delete"):
        try:
            messages.success(request, _tier_action(request, program, action))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose what to do with the tier.")
    return redirect(reverse("partners:program_detail", args=[program.public_id]) + "#program-tiers")
