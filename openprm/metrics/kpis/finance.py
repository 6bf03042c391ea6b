"""Financial metrics beyond deals: partnership costs against revenue (margin, CAC, cost per partner dollar,
partner lifetime value), invoices (payment timeliness, accuracy), the share of company revenue, and the
upsell rate of the accounts partners manage. Inputs come from the finance and customers apps' metric
inputs and from the deal rollups (``metrics.sources``)."""

from __future__ import annotations

from decimal import Decimal

from openprm.metrics.engine import Aggregate, Formula, Inputs, Raw
from openprm.metrics.kpis.common import FACTOR_PLACES, money, per, ratio

COSTS = "partnership costs (finance: costs per partner and month)"
COMPANY = "company revenue (finance: company revenue per month)"
INVOICES = "invoices (finance: invoices with due and paid dates)"
ACCOUNTS = "customer accounts and their upsells (customers app)"

WON = "deals.won.amount"


def _pltv(i: Inputs) -> Raw:
    """Revenue won to date − costs to date − years of partnership × yearly partnership cost."""
    tenure = i.raw("partner.tenure_days")
    if tenure is None:
        return None
    years = Decimal(str(tenure)) / Decimal("365.25")
    per_year = Decimal(str(i.params["partnership_cost_per_year"]))
    return money(i["lifetime:deals.won.amount"] - i["cost.lifetime"] - years * per_year)


def _timeliness(i: Inputs) -> Raw:
    settled = i["invoices.paid_on_time"] + i["invoices.paid_late"] + i["invoices.overdue_unpaid"]
    return ratio(i["invoices.paid_on_time"], settled)


TIMELINESS = ("invoices.paid_on_time", "invoices.paid_late", "invoices.overdue_unpaid")

FORMULAS: dict[str, Formula] = {
    "company_revenue_share": Formula(
        (WON, "company.revenue"),
        lambda i: ratio(i[WON], i["company.revenue"]),
        COMPANY,
        required=("company.revenue",),
    ),
    "sourced_company_revenue_share": Formula(
        ("deals.won.sourced.amount", "company.revenue"),
        lambda i: ratio(i["deals.won.sourced.amount"], i["company.revenue"]),
        COMPANY,
        required=("company.revenue",),
    ),
    "partnership_costs": Formula(("cost.total",), lambda i: money(i["cost.total"]), COSTS),
    "margin_contribution": Formula(
        (WON, "cost.total"), lambda i: money(i[WON] - i["cost.total"]), COSTS, required=("cost.total",)
    ),
    "cac_per_partner": Formula(
        ("cost.total", "deals.won"),
        lambda i: per(i["cost.total"], i["deals.won"]),
        COSTS,
        required=("cost.total",),
    ),
    "cost_per_partner_dollar": Formula(
        ("cost.total", WON),
        lambda i: per(i["cost.total"], i[WON], FACTOR_PLACES),
        COSTS,
        required=("cost.total",),
    ),
    "pltv": Formula(
        ("lifetime:deals.won.amount", "cost.lifetime", "partner.tenure_days"),
        _pltv,
        COSTS,
        total=Aggregate.SUM,
        required=("cost.lifetime",),
    ),
    "payment_timeliness": Formula(TIMELINESS, _timeliness, INVOICES),
    "invoice_accuracy": Formula(
        ("invoices.accurate", "invoices.issued"),
        lambda i: ratio(i["invoices.accurate"], i["invoices.issued"]),
        INVOICES,
    ),
    "upsell_rate": Formula(
        ("accounts.upsold", "accounts.at_start", "accounts.new"),
        lambda i: ratio(i["accounts.upsold"], i["accounts.at_start"] + i["accounts.new"]),
        ACCOUNTS,
    ),
}
