"""Report pages (staff; admins and partner managers change and send, analysts read): the definitions and
recent runs, a definition's form, its detail (send now, the delivery log), the preview in the browser (HTML,
or the PDF), the QBR pack of a partner, and the unsubscribe page of a signed link (no login)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.csrf import csrf_exempt

from openprm.core.actors import Actor
from openprm.core.http import actor_of, staff_view
from openprm.core.permissions import Perm
from openprm.core.scoping import scope, unscoped
from openprm.dashboards.filters import DashboardFilters
from openprm.dashboards.filters import today as dashboard_today
from openprm.metrics import figures
from openprm.metrics.periods import Period
from openprm.partners.models import Partner
from openprm.reports import content, delivery, selectors, services
from openprm.reports import render as renderer
from openprm.reports.forms import DefinitionForm, form_choices, initial_of
from openprm.reports.models import Kind, ReportDefinition


def _can_edit(actor: Actor) -> bool:
    return actor.is_staff and actor.can(Perm.PARTNER_EDIT)


def _definition(actor: Actor, public_id: uuid.UUID) -> ReportDefinition:
    try:
        return selectors.definition_get(actor=actor, public_id=public_id)
    except ReportDefinition.DoesNotExist:
        raise Http404 from None


@staff_view
def definition_list(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    return render(
        request,
        "reports/list.html",
        {
            "definitions": selectors.definition_list(actor=actor),
            "runs": selectors.run_list(actor=actor)[:10],
            "can_edit": _can_edit(actor),
        },
    )


@staff_view
def definition_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    actor = actor_of(request)
    definition = _definition(actor, public_id)
    if request.method == "POST":
        if not _can_edit(actor):
            raise Http404
        if request.POST.get("action") == "delete":
            services.definition_delete(actor=actor, definition=definition)
            messages.success(request, "Report deleted.")
            return redirect("reports:list")
        run, created = services.send_now(actor=actor, definition=definition, key=request.POST.get("key", ""))
        sent = run.deliveries.count()
        messages.success(
            request, f"Sending to {sent} recipient(s)." if created else "Already sent for this click."
        )
        return redirect("reports:detail", public_id=definition.public_id)
    with scope(actor.access_scope()):
        partners = list(
            Partner.objects.filter(pk__in=figures.partner_ids(actor=actor)[:200]).order_by("name")
        )
    return render(
        request,
        "reports/detail.html",
        {
            "definition": definition,
            "runs": selectors.run_list(actor=actor, definition=definition)[:20],
            "period": selectors.preview_period(definition),
            "partners": partners,
            "send_key": uuid.uuid4(),
            "can_edit": _can_edit(actor),
            "staff_names": dict(form_choices(actor)["staff"]),
        },
    )


@staff_view
def definition_edit(request: HttpRequest, public_id: uuid.UUID | None = None) -> HttpResponse:
    actor = actor_of(request)
    if not _can_edit(actor):
        raise Http404
    definition = _definition(actor, public_id) if public_id is not None else None
    form = DefinitionForm(
        request.POST if request.method == "POST" else None,
        initial=initial_of(definition) if definition else {"enabled": True, "formats": ["pdf"]},
        choices=form_choices(actor),
    )
    if request.method == "POST" and form.is_valid():
        try:
            data: dict[str, Any] = form.to_data()
            if definition is None:
                definition = services.definition_create(actor=actor, data=data)
            else:
                definition = services.definition_update(actor=actor, definition=definition, data=data)
            messages.success(request, "Report saved.")
            return redirect("reports:detail", public_id=definition.public_id)
        except ValidationError as error:
            form.add_service_errors(error.message_dict)
    return render(request, "reports/form.html", {"form": form, "definition": definition})


def _document_response(request: HttpRequest, document: content.Document, footer: str = "") -> HttpResponse:
    html = renderer.to_html(document, footer=footer)
    if request.GET.get("format") != "pdf":
        return HttpResponse(html)
    response = HttpResponse(renderer.to_pdf(html), content_type=renderer.PDF_TYPE)
    name = slugify(f"{document.title} {document.partner} {document.period.key}") or "report"
    response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return response


@staff_view
def preview(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The document a run would send now (``?partner=<id>``: about that partner; ``&as=partner``: the copy
    that partner's contacts get), as HTML or (``format=pdf``) the PDF."""
    actor = actor_of(request)
    definition = _definition(actor, public_id)
    partner = None
    if request.GET.get("partner"):
        with scope(actor.access_scope()):
            partner = Partner.objects.filter(
                public_id=_uuid(request.GET["partner"]) or uuid.UUID(int=0)
            ).first()
        if partner is None:
            raise Http404
    try:
        document = selectors.preview(
            actor=actor, definition=definition, partner=partner, as_partner=request.GET.get("as") == "partner"
        )
    except (Partner.DoesNotExist, ValueError):
        raise Http404 from None
    return _document_response(request, document, footer="Preview: the figures as of now.")


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


@staff_view
def qbr(request: HttpRequest) -> HttpResponse:
    """A partner's quarterly business review pack (last quarter unless ``period`` says which)."""
    actor = actor_of(request)
    with scope(actor.access_scope()):
        partners = list(
            Partner.objects.filter(pk__in=figures.partner_ids(actor=actor)).order_by("name")[:500]
        )
        chosen = next((p for p in partners if str(p.public_id) == request.GET.get("partner")), None)
        period_key = request.GET.get("period") or Period.quarter_of(dashboard_today()).previous().key
        f = DashboardFilters.from_mapping({"period": period_key})
        if chosen is None or f.errors:
            quarters = [Period.quarter_of(dashboard_today())]
            for _ in range(4):
                quarters.append(quarters[-1].previous())
            return render(
                request,
                "reports/qbr.html",
                {"partners": partners, "quarters": quarters, "period_key": period_key},
            )
        document = content.build(
            actor=actor, kind=Kind.QBR, title="Quarterly business review", f=f, partner=chosen
        )
    return _document_response(request, document)


@csrf_exempt  # reached from an e-mail without a session; the signed token is the credential
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the link unsubscribes from and a button; POST: record it. A changed token: 404."""
    try:
        public_id, email = delivery.unsubscribe_read(token)
        with unscoped():  # no login: the signature says which workspace's definition
            definition = ReportDefinition.objects.get(public_id=_uuid(public_id) or uuid.UUID(int=0))
    except (signing.BadSignature, ReportDefinition.DoesNotExist):
        return render(request, "reports/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        with unscoped():
            services.unsubscribe(definition=definition, email=email)
        done = True
    return render(
        request, "reports/unsubscribe.html", {"definition": definition, "email": email, "done": done}
    )
