"""The finance app's inputs to the metric engine: named values per partner over a period.

``metric_inputs`` answers one dict per partner with any value plus key ``TOTAL`` (0), the aggregate over
all the given partners; ``input_availability`` names the inputs the workspace has any data for. Each
family is one GROUP BY query over its indexed table (``workspace, period|due_on|issued_on``); the engine
decides who may see what, so these read across partners of the given workspace only.

Periods: ``start`` and ``end`` are whole days, both included. Monthly rows (costs, sell-through, company
revenue) count when their month's first day lies in ``[start, end]``, so adjacent periods never count a
month twice and weeks of a month add up to the month.

Inputs:

- ``cost.total``, ``cost.fees``, ``cost.enablement``, ``cost.mdf``, ``cost.other``: costs of the months in
  the period; ``cost.lifetime``: every cost up to ``end``.
- ``invoices.due``: invoices due in the period; of those ``invoices.paid_on_time`` (paid on or before the
  due date), ``invoices.paid_late`` (paid after it, by ``end``) and ``invoices.overdue_unpaid`` (not paid
  by ``end`` and due before ``today``: an invoice of the running month not yet due is not overdue).
  ``invoices.issued``: invoices issued in the period; ``invoices.accurate``: of those, neither disputed
  nor corrected; ``invoices.disputed``: of those, disputed, and ``invoices.disputes_corrected``: disputed
  and corrected (disputes resolved); ``invoices.amount``: their total in the workspace currency (others
  are left out).
- ``sellthrough.units_sold``, ``sellthrough.revenue`` (units × price charged), ``sellthrough.lines`` and
  ``sellthrough.lines_compliant`` (price charged at least ``list × (1 − tolerance)``) over the months in
  the period; ``sellthrough.units_on_hand``: units on hand at the partner's last reported month in the
  period; ``sellthrough.units_on_hand.avg``: the partner's average on-hand over its reported months. The
  total of both on-hand inputs is the sum over partners (the channel's stock is every distributor's stock).
- ``company.revenue``: the workspace's revenue of the months in the period, under ``TOTAL`` only.
"""

from __future__ import annotations

import datetime
from collections.abc import Collection
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from openprm.core.models import Workspace
from openprm.core.scoping import unscoped
from openprm.finance.models import CompanyRevenue, CostCategory, Invoice, PartnerCost, SellThroughLine

TOTAL = 0
CENT = Decimal("0.01")
WIDE_SELECTION = 50
DEFAULT_TOLERANCE = Decimal("0.05")  # a price up to 5% below list is compliant

Value = Decimal | int | float | None
Inputs = dict[int, dict[str, Value]]

COST_INPUTS = frozenset(
    {"cost.total", "cost.fees", "cost.enablement", "cost.mdf", "cost.other", "cost.lifetime"}
)
INVOICE_INPUTS = frozenset(
    {
        "invoices.due",
        "invoices.paid_on_time",
        "invoices.paid_late",
        "invoices.overdue_unpaid",
        "invoices.issued",
        "invoices.accurate",
        "invoices.disputed",
        "invoices.disputes_corrected",
        "invoices.amount",
    }
)
SELLTHROUGH_INPUTS = frozenset(
    {
        "sellthrough.units_sold",
        "sellthrough.units_on_hand",
        "sellthrough.units_on_hand.avg",
        "sellthrough.revenue",
        "sellthrough.lines",
        "sellthrough.lines_compliant",
    }
)
COMPANY_INPUTS = frozenset({"company.revenue"})
INPUTS = COST_INPUTS | INVOICE_INPUTS | SELLTHROUGH_INPUTS | COMPANY_INPUTS

_MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=2)


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _first_month_in(start: datetime.date) -> datetime.date:
    """The first month whose first day is on or after ``start``."""
    if start.day == 1:
        return start
    return (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def _add(out: Inputs, partner_id: int, name: str, value: Value) -> None:
    if value is None:
        return
    if isinstance(value, Decimal):
        value = value.quantize(CENT)  # SQLite's sums carry float-like digits
    out.setdefault(partner_id, {})[name] = value


def _of(partner_ids: Collection[int]) -> Q:
    """The rows of the asked partners: an IN list for a few, the whole workspace past
    ``WIDE_SELECTION`` (a 2,000-id IN list costs more to plan and test per row than it saves; the
    others' rows are dropped here)."""
    return Q(partner_id__in=partner_ids) if len(partner_ids) <= WIDE_SELECTION else Q()


def _finish(out: Inputs, asked: Collection[int], wanted: set[str]) -> Inputs:
    """Only the asked partners and names, and their sums under TOTAL (with the workspace-level inputs)."""
    keep = set(asked)
    total = {name: value for name, value in out.get(TOTAL, {}).items() if name in wanted}
    result: Inputs = {TOTAL: total}
    for partner_id, values in out.items():
        if partner_id == TOTAL or partner_id not in keep:
            continue
        mine = {name: value for name, value in values.items() if name in wanted}
        if not mine:
            continue
        result[partner_id] = mine
        for name, value in mine.items():
            current = total.get(name)
            total[name] = value if current is None else current + value  # type: ignore[operator]
    return result


def _costs(
    out: Inputs,
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    lifetime: bool,
) -> None:
    """One query; the months before the period are read only when ``cost.lifetime`` is asked for."""
    first = _first_month_in(start)
    in_period = Q(period__gte=first)
    sums = {
        f"cost.{category}": Sum("amount", filter=in_period & Q(category=category))
        for category in CostCategory.values
    }
    costs = PartnerCost.objects.filter(_of(partner_ids), workspace_id=workspace_id, period__lte=end)
    if lifetime:
        sums["cost.lifetime"] = Sum("amount")
    else:
        costs = costs.filter(period__gte=first)
    rows = (
        costs.values("partner_id")
        .order_by()
        .annotate(**{"cost.total": Sum("amount", filter=in_period)}, **sums)
    )
    for row in rows:
        partner_id = row.pop("partner_id")
        for name, value in row.items():
            _add(out, partner_id, name, value or Decimal("0.00"))


def _invoices(
    out: Inputs,
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    today: datetime.date,
) -> None:
    currency = Workspace.objects.filter(pk=workspace_id).values_list("currency", flat=True).first() or ""
    due = Q(due_on__gte=start, due_on__lte=end)
    issued = Q(issued_on__gte=start, issued_on__lte=end)
    unpaid_at_end = Q(paid_on__isnull=True) | Q(paid_on__gt=end)
    rows = (
        Invoice.objects.filter(_of(partner_ids), workspace_id=workspace_id)
        .filter(due | issued)
        .values("partner_id")
        .order_by()
        .annotate(
            **{
                "invoices.due": Count("id", filter=due),
                "invoices.paid_on_time": Count("id", filter=due & Q(paid_on__lte=F("due_on"))),
                "invoices.paid_late": Count("id", filter=due & Q(paid_on__gt=F("due_on"), paid_on__lte=end)),
                "invoices.overdue_unpaid": Count("id", filter=due & unpaid_at_end & Q(due_on__lt=today)),
                "invoices.issued": Count("id", filter=issued),
                "invoices.accurate": Count("id", filter=issued & Q(disputed=False, corrected=False)),
                "invoices.disputed": Count("id", filter=issued & Q(disputed=True)),
                "invoices.disputes_corrected": Count("id", filter=issued & Q(disputed=True, corrected=True)),
                "invoices.amount": Sum("amount", filter=issued & Q(currency=currency)),
            }
        )
    )
    for row in rows:
        partner_id = row.pop("partner_id")
        for name, value in row.items():
            if name == "invoices.amount" and value is None:
                value = Decimal("0.00")
            _add(out, partner_id, name, value)


_SELLTHROUGH_PER_PARTNER = """
WITH months AS ({months}),
     latest AS (SELECT partner_id, MAX(period) AS period FROM months GROUP BY partner_id)
SELECT months.partner_id, SUM(months.sold), SUM(months.money), SUM(months.lines), SUM(months.compliant),
       SUM(months.stock), COUNT(*), MAX(CASE WHEN months.period = latest.period THEN months.stock END)
FROM months JOIN latest ON latest.partner_id = months.partner_id
GROUP BY months.partner_id
"""


def _sellthrough(
    out: Inputs,
    workspace_id: int,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    tolerance: Decimal,
) -> None:
    """One query: the lines summed per partner and month (the on-hand figures are per month), then per
    partner, with the on-hand of its latest month and the number of months it reported."""
    revenue = ExpressionWrapper(F("units_sold") * F("unit_price"), output_field=_MONEY)
    floor = ExpressionWrapper(F("list_price") * (Decimal("1") - tolerance), output_field=_MONEY)
    months = (
        SellThroughLine.objects.filter(
            _of(partner_ids),
            workspace_id=workspace_id,
            period__gte=_first_month_in(start),
            period__lte=end,
        )
        .values("partner_id", "period")
        .order_by()
        .annotate(
            sold=Sum("units_sold"),
            stock=Sum("units_on_hand"),
            money=Sum(revenue),
            lines=Count("id"),
            compliant=Count("id", filter=Q(unit_price__gte=floor)),
        )
        .values("partner_id", "period", "sold", "stock", "money", "lines", "compliant")
    )
    sql, params = months.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_SELLTHROUGH_PER_PARTNER.format(months=sql), params)
        rows = cursor.fetchall()
    for partner_id, sold, money, lines, compliant, stock, reported, latest in rows:
        _add(out, partner_id, "sellthrough.units_sold", int(sold or 0))
        _add(out, partner_id, "sellthrough.revenue", Decimal(str(money or 0)))
        _add(out, partner_id, "sellthrough.lines", int(lines or 0))
        _add(out, partner_id, "sellthrough.lines_compliant", int(compliant or 0))
        _add(out, partner_id, "sellthrough.units_on_hand", int(latest or 0))
        _add(out, partner_id, "sellthrough.units_on_hand.avg", Decimal(int(stock or 0)) / int(reported))


def _company(out: Inputs, workspace_id: int, start: datetime.date, end: datetime.date) -> None:
    total = CompanyRevenue.objects.filter(
        workspace_id=workspace_id, period__gte=_first_month_in(start), period__lte=end
    ).aggregate(total=Sum("amount"), months=Count("id"))
    if total["months"]:
        out.setdefault(TOTAL, {})["company.revenue"] = Decimal(total["total"]).quantize(CENT)


def metric_inputs(
    workspace_id: int,
    *,
    partner_ids: Collection[int],
    start: datetime.date,
    end: datetime.date,
    names: Collection[str],
    tolerance: Decimal = DEFAULT_TOLERANCE,
    today: datetime.date | None = None,
) -> Inputs:
    """The requested inputs (unknown names are ignored) per partner and under ``TOTAL``: one query per
    family asked for. ``tolerance`` is the pricing-compliance allowance below list (0.05: 5%);
    ``today`` (default: the current UTC date) decides which unpaid invoices are overdue yet."""
    wanted = set(names)
    out: Inputs = {TOTAL: {}}
    ids = list(partner_ids)
    if not ids and not wanted & COMPANY_INPUTS:
        return out
    with unscoped():
        if ids and wanted & COST_INPUTS:
            _costs(out, workspace_id, ids, start, end, lifetime="cost.lifetime" in wanted)
        if ids and wanted & INVOICE_INPUTS:
            _invoices(out, workspace_id, ids, start, end, today or timezone.now().date())
        if ids and wanted & SELLTHROUGH_INPUTS:
            _sellthrough(out, workspace_id, ids, start, end, Decimal(str(tolerance)))
        if wanted & COMPANY_INPUTS:
            _company(out, workspace_id, start, end)
    return _finish(out, ids, wanted)


def input_availability(workspace_id: int) -> set[str]:
    """The inputs the workspace has any data for: a family is available once its table has a row."""
    found: set[str] = set()
    with unscoped():
        for model, family in (
            (PartnerCost, COST_INPUTS),
            (Invoice, INVOICE_INPUTS),
            (SellThroughLine, SELLTHROUGH_INPUTS),
            (CompanyRevenue, COMPANY_INPUTS),
        ):
            if model.objects.filter(workspace_id=workspace_id).exists():
                found |= family
    return found


def sellthrough_by_region(
    workspace_id: int, *, partner_ids: Collection[int], start: datetime.date, end: datetime.date
) -> dict[str, dict[str, Decimal | int]]:
    """Units sold and revenue (units × price charged) per region over the months in the period, for the
    given partners ("" is the region of lines that name none). One GROUP BY query."""
    revenue = ExpressionWrapper(F("units_sold") * F("unit_price"), output_field=_MONEY)
    ids = list(partner_ids)
    if not ids:
        return {}
    with unscoped():
        rows = (
            SellThroughLine.objects.filter(
                workspace_id=workspace_id,
                partner_id__in=ids,
                period__gte=_first_month_in(start),
                period__lte=end,
            )
            .values("region")
            .order_by("region")
            .annotate(units=Sum("units_sold"), revenue=Sum(revenue))
        )
        return {
            row["region"]: {
                "units": int(row["units"] or 0),
                "revenue": Decimal(row["revenue"] or 0).quantize(CENT),
            }
            for row in rows
        }
