"""What the dashboards show, read through the metric engine (``metrics.figures``) and the scorecards'
selectors: every figure comes from ``figures.metric_table`` / ``figures.metric_series`` for the filtered
partner set, so a dashboard agrees with every other page. Each panel is a chart (``charts``) and/or a
table (``tables``) for one set of filters; the views serve a chart's option as a JSON data request and a
table as CSV or XLSX. One module per page (``overview``, ``partner``, ``cohorts``), the trends shared by
two of them (``trends``) and what all build on (``common``).
"""

from openprm.dashboards.selectors.cohorts import cohort_panels, cohorts
from openprm.dashboards.selectors.common import (
    ENGAGEMENT_KEYS,
    Panel,
    partner_infos,
    region_list,
    unconverted_note,
)
from openprm.dashboards.selectors.overview import OVERVIEW
from openprm.dashboards.selectors.partner import PARTNER
from openprm.dashboards.selectors.trends import pipeline_by_stage

__all__ = [
    "ENGAGEMENT_KEYS",
    "OVERVIEW",
    "PARTNER",
    "Panel",
    "cohort_panels",
    "cohorts",
    "partner_infos",
    "pipeline_by_stage",
    "region_list",
    "unconverted_note",
]
