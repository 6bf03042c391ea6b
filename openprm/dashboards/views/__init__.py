"""Staff dashboards: the program overview, a partner's dashboard and the cohort comparison.

Pages render the filters and the tables; each chart's option is a JSON data request
(``…/data/<panel>/``, the same filters in the query string) that ``dashboards.js`` draws with ECharts;
each table exports to CSV or XLSX (``…/export/<panel>.<csv|xlsx>``) with the filters applied. Partner
users get 404 (staff area); staff restricted to their own partners see only those (``metrics.figures``).
"""

from openprm.dashboards.views.cohorts import cohorts, cohorts_data, cohorts_export
from openprm.dashboards.views.common import CHARTS, EXPORTS
from openprm.dashboards.views.overview import overview, overview_data, overview_export
from openprm.dashboards.views.partner import partner, partner_data, partner_export

__all__ = [
    "CHARTS",
    "EXPORTS",
    "cohorts",
    "cohorts_data",
    "cohorts_export",
    "overview",
    "overview_data",
    "overview_export",
    "partner",
    "partner_data",
    "partner_export",
]
