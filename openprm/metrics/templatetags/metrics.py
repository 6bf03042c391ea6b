"""``{% load metrics %}``: a metric's label as every page shows it, linked to its glossary entry.

``{% metric_label "win_rate" %}`` renders the catalog label as a link to ``/metrics/glossary/#win_rate``
with the written definition as its title (the tooltip), so every figure's label leads to what it means.
``{% metric_label "win_rate" "Win rate (90 d)" %}`` shows another text with the same link and title.
An unknown key raises :class:`~openprm.metrics.catalog.UnknownMetricError` (a typo fails the page's tests).
"""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from openprm.metrics.catalog import metric

register = template.Library()


@register.simple_tag
def metric_label(key: str, text: str = "") -> SafeString:
    """The label of catalogued metric ``key`` linked to its glossary anchor, its definition as title."""
    entry = metric(key)
    return format_html(
        '<a class="metric-label" href="{}#{}" title="{}">{}</a>',
        reverse("metrics:glossary"),
        entry.key,
        entry.definition,
        text or entry.label,
    )


@register.simple_tag
def metric_url(key: str) -> str:
    """The glossary address of metric ``key`` (for a link around something else than its label)."""
    return f"{reverse('metrics:glossary')}#{metric(key).key}"


RATES_LINK = "; import rates at "


@register.filter
def rates_linked(note: str) -> SafeString:
    """An unconverted-deals note (``display.unconverted_note``) with its rates page as a link: "…;
    <a href=…>import rates</a>" (a partner user's note names no page and stays text)."""
    text, found, url = str(note).rpartition(RATES_LINK)
    if not found or not url.startswith("/"):
        return format_html("{}", note)
    return format_html('{}; <a href="{}">import rates</a>', text, url)
