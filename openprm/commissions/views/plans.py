"""Staff pages of commission plans: the list, a plan (versions with their status and dates, the rules in
words, assignments with the precedence stated), a plan's form, a version (its rules, edit while a draft,
publish with an effective date), the what-if of a version against what was accrued, with a chart, and the
payout forecast. ``commission.view`` reads; ``commission.plan`` changes. Partner users get 404."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse

from openprm.accounts.forms import add_service_errors
from openprm.commissions.forms import rule_editor
from openprm.commissions.forms.plans import (
    EXAMPLE_JSON,
    EXAMPLE_RULES,
    AssignmentForm,
    DraftForm,
    PlanForm,
    PublishForm,
    VersionForm,
    WhatIfForm,
)
from openprm.commissions.models import Plan, PlanVersion
from openprm.commissions.rules import RulesError
from openprm.commissions.schemas.errors import rules_checked
from openprm.commissions.selectors import pages, simulation
from openprm.commissions.selectors.words import rules_words
from openprm.commissions.services import plans as services
from openprm.commissions.services import simulate
from openprm.core.actors import Actor
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.partners.selectors import reference_data


def _reader(request: HttpRequest) -> Actor:
    actor = actor_of(request)
    if not actor.can(Perm.COMMISSION_VIEW):
        raise Http404
    return actor


def _planner(request: HttpRequest) -> Actor:
    actor = _reader(request)
    if not actor.can(Perm.COMMISSION_PLAN):
        raise Http404
    return actor


def _plan(actor: Actor, public_id: uuid.UUID) -> Plan:
    try:
        return pages.plan_get(actor=actor, public_id=public_id)
    except ObjectDoesNotExist:
        raise Http404 from None


def _version(actor: Actor, public_id: uuid.UUID) -> PlanVersion:
    try:
        return pages.version_get(actor=actor, public_id=public_id)
    except ObjectDoesNotExist:
        raise Http404 from None


@staff_view
def plan_list(request: HttpRequest) -> HttpResponse:
    actor = _reader(request)
    plans = list(pages.plan_rows(actor=actor))
    return render(
        request, "commissions/plans.html", {"plans": plans, "can_plan": actor.can(Perm.COMMISSION_PLAN)}
    )


@staff_view
def plan_edit(request: HttpRequest, public_id: uuid.UUID | None = None) -> HttpResponse:
    actor = _planner(request)
    plan = _plan(actor, public_id) if public_id else None
    programs = reference_data(actor=actor)["programs"]
    form = PlanForm(
        request.POST if request.method == "POST" else None,
        initial=PlanForm.initial_of(plan) if plan else None,
        programs=programs,
    )
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        ref = data.pop("program")
        try:
            data["program"] = pages.program_of(actor=actor, public_id=ref, field="program") if ref else None
            if plan is None:
                plan = services.plan_create(actor=actor, **data)
                messages.success(request, "Plan created. Add its first version: the rules, then publish it.")
            else:
                data.pop("currency")  # the currency is fixed once commissions may exist in it
                plan = services.plan_update(actor=actor, plan=plan, **data)
                messages.success(request, "Plan saved.")
            return redirect("commissions:plan", public_id=plan.public_id)
        except ValidationError as error:
            add_service_errors(form, error)
    if plan is not None:
        form.fields["currency"].disabled = True
    return render(request, "commissions/plan_form.html", {"form": form, "plan": plan})


def _assignment_action(request: HttpRequest, actor: Actor, plan: Plan) -> HttpResponse | AssignmentForm:
    """The assignment posts of the plan page: add one, or end one."""
    form = AssignmentForm(
        request.POST, reference=reference_data(actor=actor), partners=pages.partner_choices(actor=actor)
    )
    if request.POST.get("action") == "end":
        try:
            assignment = pages.assignment_get(actor=actor, public_id=request.POST.get("assignment", ""))
            ends = datetime.date.fromisoformat(
                request.POST.get("ends_on") or datetime.date.today().isoformat()
            )
            services.assignment_end(actor=actor, assignment=assignment, ends_on=ends)
            messages.success(request, "Assignment ended.")
        except (ObjectDoesNotExist, ValueError):
            raise Http404 from None
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect("commissions:plan", public_id=plan.public_id)
    if form.is_valid():
        try:
            services.assignment_create(
                actor=actor,
                plan=plan,
                level=form.cleaned_data["level"],
                target_id=pages.target_id(
                    actor=actor,
                    level=form.cleaned_data["level"],
                    public_id=form.cleaned_data["target_id"],
                    field="target",
                ),
                starts_on=form.cleaned_data["starts_on"],
                ends_on=form.cleaned_data.get("ends_on"),
            )
            messages.success(request, "Assignment added.")
            return redirect("commissions:plan", public_id=plan.public_id)
        except ValidationError as error:
            add_service_errors(form, error)
    return form


@staff_view
def plan_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = _reader(request)
    plan = _plan(actor, public_id)
    can_plan = actor.can(Perm.COMMISSION_PLAN)
    form: AssignmentForm | None = None
    if request.method == "POST":
        if not can_plan:
            raise Http404
        done = _assignment_action(request, actor, plan)
        if isinstance(done, HttpResponse):
            return done
        form = done
    versions = pages.versions_of(actor=actor, plan=plan)
    today = datetime.date.today()
    current = pages.in_force(versions, today)
    rows = []
    for version in versions:
        described, overrides, errors = rules_words(version.rules, plan.currency)
        in_force = current is not None and version.pk == current.pk
        rows.append(
            {
                "v": version,
                "described": described,
                "overrides": overrides,
                "errors": errors,
                "in_force": in_force,
            }
        )
    if form is None and can_plan:
        form = AssignmentForm(
            reference=reference_data(actor=actor), partners=pages.partner_choices(actor=actor)
        )
    return render(
        request,
        "commissions/plan.html",
        {
            "plan": plan,
            "versions": rows,
            "current": current,
            "assignments": pages.assignments_of(actor=actor, plan=plan),
            "form": form,
            "can_plan": can_plan,
            "today": today,
        },
    )


def _editor_of(rules: Any) -> rule_editor.State | None:
    """The structured editor's state of a stored document; None when it does not validate (a draft
    saved through the API while being written: only the JSON editor can show it)."""
    try:
        return rule_editor.state_of_doc(rules)
    except RulesError:
        return None


Save = Callable[[dict[str, Any], datetime.date, str], PlanVersion]


def _editor_post(request: HttpRequest, save: Save) -> tuple[PlanVersion | None, rule_editor.State, DraftForm]:
    """The structured editor's post: a row button (add, remove, move) re-shows the form unsaved; "Save
    draft" validates the rules through the schema and saves them with the date and the note."""
    state = rule_editor.state_of_post(request.POST)
    draft = DraftForm(request.POST)
    op = str(request.POST.get("op", ""))
    if op:
        rule_editor.apply_op(state, op)
        draft.is_valid()
        draft.errors.clear()  # not saving: no complaint about the date yet
        return None, state, draft
    rules = rule_editor.doc_of_state(state)
    if draft.is_valid() and rules is not None:
        try:
            with rules_checked():
                return (
                    save(rules, draft.cleaned_data["effective_from"], draft.cleaned_data["note"]),
                    state,
                    draft,
                )
        except ValidationError as error:
            found = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
            rule_editor.add_service_errors(
                state, {k: v for k, v in found.items() if k == "rules" or k.startswith("rules.")}
            )
            others = {k: v for k, v in found.items() if not (k == "rules" or k.startswith("rules."))}
            if others:
                add_service_errors(draft, ValidationError(others))
    return None, state, draft


def _editor_context(state: rule_editor.State | None, draft: DraftForm, plan: Plan) -> dict[str, Any]:
    return {
        "editor": rule_editor.rows_for_template(state) if state is not None else None,
        "draft": draft,
        "choices": rule_editor.choices(),
        "priority_matters": plan.selection == "priority",
    }


@staff_view
def version_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = _planner(request)
    plan = _plan(actor, public_id)
    versions = pages.versions_of(actor=actor, plan=plan)
    latest = versions[0] if versions else None
    initial = {
        "rules": json.dumps(latest.rules, indent=2) if latest else EXAMPLE_JSON,
        "effective_from": max(datetime.date.today(), latest.effective_from)
        if latest
        else datetime.date.today(),
    }
    base = latest.rules if latest else EXAMPLE_RULES
    structured = request.method == "POST" and request.POST.get("action") == "form"
    form = VersionForm(request.POST if request.method == "POST" and not structured else None, initial=initial)
    state = _editor_of(base)
    draft = DraftForm(initial={"effective_from": initial["effective_from"]})
    if structured:

        def create(rules: dict[str, Any], effective_from: datetime.date, note: str) -> PlanVersion:
            return services.version_create_draft(
                actor=actor, plan=plan, rules=rules, effective_from=effective_from, note=note
            )

        version, state, draft = _editor_post(request, create)
        if version is not None:
            messages.success(request, "Draft saved. Try it on past events (what-if), then publish it.")
            return redirect("commissions:version", public_id=version.public_id)
    elif request.method == "POST" and form.is_valid():
        try:
            with rules_checked():
                version = services.version_create_draft(
                    actor=actor,
                    plan=plan,
                    rules=form.cleaned_data["rules"],
                    effective_from=form.cleaned_data["effective_from"],
                    note=form.cleaned_data["note"],
                )
            messages.success(request, "Draft saved. Try it on past events (what-if), then publish it.")
            return redirect("commissions:version", public_id=version.public_id)
        except ValidationError as error:
            add_service_errors(form, error)
    return render(
        request,
        "commissions/version_form.html",
        {
            "form": form,
            "plan": plan,
            "version": None,
            "example": EXAMPLE_JSON,
            "based_on": latest,
            "json_open": request.method == "POST" and not structured,
            **_editor_context(state, draft, plan),
        },
    )


@staff_view
def version_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = _reader(request)
    version = _version(actor, public_id)
    plan = version.plan
    can_plan = actor.can(Perm.COMMISSION_PLAN)
    draft = version.status == PlanVersion.Status.DRAFT
    edit = VersionForm(
        initial={
            "rules": json.dumps(version.rules, indent=2),
            "effective_from": version.effective_from,
            "note": version.note,
        }
    )
    publish = PublishForm(initial={"effective_from": version.effective_from})
    state = _editor_of(version.rules) if draft else None
    draft_form = DraftForm(initial={"effective_from": version.effective_from, "note": version.note})
    json_open = False
    if request.method == "POST":
        if not (can_plan and draft):
            raise Http404
        if request.POST.get("action") == "publish":
            publish = PublishForm(request.POST)
            if publish.is_valid():
                try:
                    day = publish.cleaned_data["effective_from"]
                    if day != version.effective_from:
                        version = services.version_update_draft(
                            actor=actor, version=version, effective_from=day
                        )
                    services.version_publish(actor=actor, version=version)
                    messages.success(
                        request, f"Version {version.number} published, in force from {day:%d %b %Y}."
                    )
                    return redirect("commissions:plan", public_id=plan.public_id)
                except ValidationError as error:
                    add_service_errors(publish, error)
                except RulesError as exc:  # a draft stored before a limit of the rules was set
                    publish.add_error(None, [f"{e['path']}: {e['message']}" for e in exc.errors])
        elif request.POST.get("action") == "form":

            def update(rules: dict[str, Any], effective_from: datetime.date, note: str) -> PlanVersion:
                return services.version_update_draft(
                    actor=actor, version=version, rules=rules, effective_from=effective_from, note=note
                )

            saved, state, draft_form = _editor_post(request, update)
            if saved is not None:
                messages.success(request, "Draft saved.")
                return redirect("commissions:version", public_id=version.public_id)
        else:
            json_open = True
            edit = VersionForm(request.POST)
            if edit.is_valid():
                try:
                    with rules_checked():
                        services.version_update_draft(
                            actor=actor,
                            version=version,
                            rules=edit.cleaned_data["rules"],
                            effective_from=edit.cleaned_data["effective_from"],
                            note=edit.cleaned_data["note"],
                        )
                    messages.success(request, "Draft saved.")
                    return redirect("commissions:version", public_id=version.public_id)
                except ValidationError as error:
                    add_service_errors(edit, error)
    described, overrides, errors = rules_words(version.rules, plan.currency)
    return render(
        request,
        "commissions/version.html",
        {
            "version": version,
            "plan": plan,
            "described": described,
            "overrides": overrides,
            "errors": errors,
            "rules_json": json.dumps(version.rules, indent=2),
            "edit": edit if (can_plan and draft) else None,
            "publish": publish if (can_plan and draft) else None,
            "example": EXAMPLE_JSON,
            "can_plan": can_plan,
            "json_open": json_open,
            **_editor_context(state if (can_plan and draft) else None, draft_form, plan),
        },
    )


@staff_view
def whatif(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The what-if of a version over the last N months; ``?chart=1`` answers the chart's JSON."""
    actor = _planner(request)
    version = _version(actor, public_id)
    form = WhatIfForm(request.GET or None, initial={"months": 6})
    months = form.cleaned_data["months"] if form.is_valid() else 6
    try:
        outcome = simulate.simulate_version(actor=actor, version=version, months=months)
    except RulesError as exc:  # a draft stored before its rules were checked as they are now
        messages.error(
            request, "Fix the rules first: " + "; ".join(f"{e['path']}: {e['message']}" for e in exc.errors)
        )
        return redirect("commissions:version", public_id=version.public_id)
    result = simulation.whatif_of(outcome)
    if request.GET.get("chart"):
        return JsonResponse(simulation.whatif_chart(result).as_json())
    chart_url = reverse("commissions:whatif", args=[version.public_id]) + f"?months={months}&chart=1"
    return render(
        request,
        "commissions/whatif.html",
        {
            "version": version,
            "plan": version.plan,
            "form": form,
            "result": result,
            "months": months,
            "chart_url": chart_url,
        },
    )


@staff_view
def forecast(request: HttpRequest) -> HttpResponse:
    """The payout forecast; ``?chart=<currency>`` answers that currency's chart JSON."""
    actor = _reader(request)
    try:
        periods = max(1, min(12, int(request.GET.get("periods", 3))))
    except ValueError:
        periods = 3
    rows = simulation.forecast_of(simulate.payout_forecast(actor=actor, periods=periods), periods=periods)
    if chart := request.GET.get("chart"):
        return JsonResponse(simulation.forecast_chart(rows, chart).as_json())
    currencies = sorted({r["currency"] for r in rows})
    charts = [(c, reverse("commissions:forecast") + f"?periods={periods}&chart={c}") for c in currencies]
    return render(
        request,
        "commissions/forecast.html",
        {"rows": rows, "periods": periods, "charts": charts, "choices": [1, 3, 6, 12]},
    )


urlpatterns: list[URLPattern] = [
    path("", plan_list, name="plans"),
    path("plans/new/", plan_edit, name="plan_create"),
    path("plans/<uuid:public_id>/", plan_detail, name="plan"),
    path("plans/<uuid:public_id>/edit/", plan_edit, name="plan_edit"),
    path("plans/<uuid:public_id>/versions/new/", version_create, name="version_create"),
    path("versions/<uuid:public_id>/", version_detail, name="version"),
    path("versions/<uuid:public_id>/what-if/", whatif, name="whatif"),
    path("forecast/", forecast, name="forecast"),
]
