"""What the dashboard pages share: their chart slots and exports, the filters, the chart data
requests (JSON, 422 naming a bad filter) and the CSV/XLSX exports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from openprm.accounts.selectors import staff_user_list
from openprm.core.actors import Actor
from openprm.core.http import actor_of
from openprm.dashboards import selectors
from openprm.dashboards.filters import COHORTS, DashboardFilters, presets, today
from openprm.dashboards.selectors import ENGAGEMENT_KEYS, Panel
from openprm.dashboards.tables import FORMATS, Table, to_csv, to_xlsx
from openprm.partners import selectors as partner_selectors
from openprm.partners.models import Partner

CHARTS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    # (panel, size, the catalogued metrics it shows: their labels link to the glossary under the chart)
    "overview": [
        ("revenue", "wide", ("sourced_revenue", "influenced_revenue")),
        ("pipeline", "", ("pipeline_value",)),
        ("win_rate", "", ("win_rate",)),
        ("active_share", "", ("active_partner_share",)),
        ("engagement", "", ENGAGEMENT_KEYS),
        ("top_partners", "", ("won_revenue",)),
        ("targets", "", ()),
        ("by_tier", "third", ()),
        ("by_type", "third", ()),
        ("by_region", "third", ()),
    ],
    "partner": [
        ("scorecard", "", ()),
        ("revenue", "", ("sourced_revenue", "influenced_revenue")),
        ("win_rate", "", ("win_rate",)),
        ("pipeline", "", ("pipeline_value",)),
        ("engagement", "wide", ENGAGEMENT_KEYS),
    ],
    "cohorts": [("cohorts", "", ("revenue_per_partner",)), ("cohort_win_rate", "", ("win_rate",))],
}
EXPORTS = {
    "overview": (
        "revenue", "pipeline", "win_rate", "active_share", "engagement", "top_partners",
        "bottom_partners", "by_tier", "by_type", "by_region", "targets", "agreements",
    ),
    "partner": ("figures", "scorecard", "revenue", "win_rate", "pipeline", "engagement", "deals", "targets"),
    "cohorts": ("cohorts",),
}  # fmt: skip


def filters_of(request: HttpRequest) -> DashboardFilters:
    return DashboardFilters.from_mapping(request.GET)


def _invalid(f: DashboardFilters) -> JsonResponse:
    field, message = next(iter(f.errors.items()))
    return JsonResponse({"code": "invalid_filter", "message": message, "field": field}, status=422)


def partner_or_404(actor: Actor, public_id: Any) -> Partner:
    try:
        return partner_selectors.partner_get(actor=actor, public_id=public_id)
    except Partner.DoesNotExist:
        raise Http404 from None


def _cohort_panel(actor: Actor, f: DashboardFilters, key: str) -> Panel:
    for panel in selectors.cohort_panels(actor, f):
        if panel.key == key:
            return panel
    raise Http404


def _panel(
    request: HttpRequest, page: str, key: str, public_id: Any = None
) -> tuple[Panel, DashboardFilters]:
    actor, f = actor_of(request), filters_of(request)
    if page == "overview" and key in selectors.OVERVIEW:
        return selectors.OVERVIEW[key](actor, f), f
    if page == "partner" and key in selectors.PARTNER:
        return selectors.PARTNER[key](actor, f, partner_or_404(actor, public_id)), f
    if page == "cohorts" and key in ("cohorts", "cohort_win_rate"):
        return _cohort_panel(actor, f, key), f
    raise Http404


def chart_data(request: HttpRequest, page: str, key: str, public_id: Any = None) -> HttpResponse:
    f = filters_of(request)
    if f.errors:
        return _invalid(f)
    panel, _ = _panel(request, page, key, public_id)
    if panel.chart is None:
        raise Http404
    return JsonResponse(panel.chart.as_json())


def table_export(request: HttpRequest, page: str, key: str, fmt: str, public_id: Any = None) -> HttpResponse:
    f = filters_of(request)
    if f.errors:
        return _invalid(f)
    if fmt not in FORMATS or key not in EXPORTS[page]:
        raise Http404
    panel, f = _panel(request, page, key, public_id)
    if panel.table is None:
        raise Http404
    described = _described(request, f)
    body = to_csv(panel.table, described) if fmt == "csv" else to_xlsx(panel.table, described)
    response = HttpResponse(body, content_type=FORMATS[fmt])
    name = f"openprm-{page}-{key}-{f.period_value.key}".replace("..", "_")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


def _described(request: HttpRequest, f: DashboardFilters) -> list[tuple[str, str]]:
    """The filters in words, as the XLSX "Filters" sheet lists them."""
    out = [("Period", f"{f.period_value.label} ({f.period_value.start} to {f.period_value.end})")]
    reference = partner_selectors.reference_data(actor=actor_of(request))
    names = {
        "program": {str(p.public_id): p.name for p in reference["programs"]},
        "tier": {str(t.public_id): f"{t.program.name} · {t.name}" for t in reference["tiers"]},
        "type": {t.key: t.label for t in reference["types"]},
    }
    for field in ("program", "type", "tier", "region", "owner", "tag"):
        value = getattr(f, field)
        if value:
            out.append((field.capitalize(), names.get(field, {}).get(value, value)))
    return out


def page_context(request: HttpRequest, page: str, base: str, f: DashboardFilters) -> dict[str, Any]:
    """What every dashboard page shows: the filter bar, the chart slots and the export links."""
    actor = actor_of(request)
    query = urlencode(f.query())
    reference = partner_selectors.reference_data(actor=actor)
    chart_slots = [
        {
            "key": key,
            "size": size,
            "metrics": metrics,
            "url": f"{base}data/{key}/?{query}",
            "exports": export_links(base, key, query),
        }
        for key, size, metrics in CHARTS[page]
    ]
    offered = presets(today())
    other = None
    if not f.errors and f.period and not f.start and f.period not in dict(offered):
        other = f.period_value
    return {
        "filters": f,
        "query": query,
        "presets": offered,
        "other_period": other,
        "period": f.period_value,
        "programs": reference["programs"],
        "tiers": reference["tiers"],
        "types": reference["types"],
        "tags": reference["tags"],
        "regions": selectors.region_list(actor=actor),
        "owners": staff_user_list(actor=actor),
        "charts": chart_slots,
        "cohorts": COHORTS,
    }


def export_links(base: str, key: str, query: str) -> list[tuple[str, str]]:
    suffix = f"?{query}" if query else ""
    return [(fmt.upper(), f"{base}export/{key}.{fmt}{suffix}") for fmt in FORMATS]


def page_tables(
    build: Callable[[str], Panel], keys: tuple[str, ...], base: str, query: str
) -> list[dict[str, Any]]:
    out = []
    for key in keys:
        table = build(key).table
        assert isinstance(table, Table)
        out.append({"table": table, "exports": export_links(base, key, query)})
    return out
