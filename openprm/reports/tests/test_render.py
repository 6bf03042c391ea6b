"""A document's charts in its HTML (and so its PDF): each one the SVG a Node process started for that one
chart draws, byte for byte, all of them rendered by the process's one long-lived Node renderer."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from openprm.core.scoping import scope
from openprm.dashboards import charts
from openprm.dashboards.filters import DashboardFilters, today
from openprm.metrics.periods import Period
from openprm.reports import render
from openprm.reports.content import build

pytestmark = pytest.mark.django_db


def test_a_qbr_embeds_the_one_shot_svg_of_every_chart_from_one_node_process(data: Any) -> None:
    world = data
    f = DashboardFilters(period=Period.quarter_of(today()).key)
    with scope(world.system.access_scope()):
        document = build(actor=world.system, kind="qbr", title="QBR", f=f, partner=world.partner_a)
    options = [s.chart.option for s in document.sections if s.chart is not None]
    assert len(options) >= 3
    charts.RENDERER.close()
    started = charts.RENDERER.started
    html = render.to_html(document)
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    embedded = [base64.b64decode(uri).decode() for uri in uris]
    wanted = [charts.render_svg_once(o, render.CHART_WIDTH, render.CHART_HEIGHT) for o in options]
    assert embedded == wanted
    assert charts.RENDERER.started == started + 1  # one Node process for the document's charts
    render.to_html(document)
    assert charts.RENDERER.started == started + 1  # and for the next document
