from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from openprm.deals.rollups.conversion import Rates


class FinanceConfig(AppConfig):
    """Partnership costs, invoices and payments, and distributors' sell-through reports: the financial
    inputs of the metric catalog beyond deals and events.
    """

    name = "openprm.finance"
    label = "finance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Deal figures in other currencies convert with this app's FX table (at each day's rate; what no
        # rate converts is counted apart). The deals app may not import finance, so the table is plugged
        # in here, once the apps are loaded: pages, the API, CLI commands, jobs and exports alike.
        from openprm.deals.rollups.conversion import convert_with

        convert_with(_fx_rates)


def _fx_rates(workspace_id: int, start: datetime.date, end: datetime.date) -> Rates:
    from openprm.finance.selectors.fx import fx_table

    return fx_table(workspace_id=workspace_id, start=start, end=end)
