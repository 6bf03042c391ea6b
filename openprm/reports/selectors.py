"""Reads of the reports app: definitions, runs with their deliveries, previews. Staff only: a partner user
gets a 404 from every one (the models are staff-only as well)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from openprm.core.actors import Actor
from openprm.core.ids import parse_uuid
from openprm.metrics import figures
from openprm.metrics.periods import Period
from openprm.partners.filters import PartnerFilters
from openprm.partners.models import Partner
from openprm.reports import content, schedule
from openprm.reports.delivery import document_for, partner_actor
from openprm.reports.models import Kind, ReportDefinition, ReportDelivery, ReportRun


def _staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise Http404


def definition_list(*, actor: Actor) -> QuerySet[ReportDefinition]:
    _staff(actor)
    return ReportDefinition.objects.annotate(run_count=Count("runs")).order_by("-enabled", "name", "id")


def definition_get(*, actor: Actor, public_id: Any) -> ReportDefinition:
    _staff(actor)
    return ReportDefinition.objects.get(public_id=parse_uuid(str(public_id)))


def run_list(*, actor: Actor, definition: ReportDefinition | None = None) -> QuerySet[ReportRun]:
    """Runs, newest first, each with its delivery counts and its deliveries (the delivery log)."""
    _staff(actor)
    runs = ReportRun.objects.select_related("definition", "created_by")
    if definition is not None:
        runs = runs.filter(definition=definition)
    return (
        runs.annotate(
            sent=Count("deliveries", filter=Q(deliveries__status=ReportDelivery.Status.SENT)),
            failed=Count("deliveries", filter=Q(deliveries__status=ReportDelivery.Status.FAILED)),
            pending=Count("deliveries", filter=Q(deliveries__status=ReportDelivery.Status.PENDING)),
            skipped=Count("deliveries", filter=Q(deliveries__status=ReportDelivery.Status.SKIPPED)),
        )
        .prefetch_related(
            Prefetch(
                "deliveries",
                queryset=ReportDelivery.objects.select_related("partner").order_by("email", "id"),
            )
        )
        .order_by("-created_at", "-id")
    )


def preview_period(definition: ReportDefinition) -> Period:
    """The period the next run would cover if it ran now."""
    return schedule.report_period(definition.period, run_at=timezone.now(), tz_name=definition.timezone)


def preview(
    *, actor: Actor, definition: ReportDefinition, partner: Partner | None = None, as_partner: bool = False
) -> content.Document:
    """The document a run would send now: the staff copy as ``actor`` sees it, or (``as_partner``) the copy
    ``partner``'s contacts would get, built in that partner's scope. A QBR is about one partner: the first
    the definition covers when none is given."""
    _staff(actor)
    if partner is None and (definition.kind == Kind.QBR or as_partner):
        ids = figures.partner_ids(actor=actor, filters=PartnerFilters(**definition.filters))
        partner = Partner.objects.filter(pk__in=ids[:1]).first()
        if partner is None:
            raise Partner.DoesNotExist
    who = partner_actor(actor.workspace_id, partner.pk) if (as_partner and partner) else actor
    return document_for(actor=who, definition=definition, period=preview_period(definition), partner=partner)
