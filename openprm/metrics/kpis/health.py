"""Relationship health: surveys (NPS, satisfaction), collaboration, contract compliance, disputes,
customer retention and satisfaction of partner-managed accounts against direct ones, tier progression and
the churn-risk placeholder (no churn model yet)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from openprm.metrics.engine import Aggregate, Formula, Inputs, Raw
from openprm.metrics.kpis.common import SCORE_PLACES, per, per_30_days, ratio

SURVEYS = "partner surveys (survey_response events with an NPS or satisfaction score)"
CSAT = "CSAT answers of partner-managed accounts (customers app)"
CSAT_DIRECT = "CSAT answers of direct accounts (customers app, channel direct)"
ACCOUNTS = "customer accounts managed by partners (customers app)"


def _nps(i: Inputs) -> Raw:
    responses = i["survey.responses"]
    if responses <= 0:
        return None
    return ((i["survey.promoters"] - i["survey.detractors"]) * 100 / responses).quantize(Decimal("0.1"))


def _mean(total: str, count: str) -> Any:
    return lambda i: per(i[total], i[count], SCORE_PLACES)


def _csat_gap(i: Inputs) -> Raw:
    partner = per(i["csat.sum"], i["csat.count"], SCORE_PLACES)
    direct = per(i["csat.direct.sum"], i["csat.direct.count"], SCORE_PLACES)
    return None if partner is None or direct is None else partner - direct


def _collaboration(params: Mapping[str, Any]) -> list[str]:
    return [f"events.{t}" for t in params["collaboration_types"]]


def _collaboration_rate(i: Inputs) -> Raw:
    return per_30_days(i.total(_collaboration(i.params)), i.period.days)


def _compliant(i: Inputs) -> Raw:
    return Decimal(1) if i["partner.agreement_in_force"] else Decimal(0)


FORMULAS: dict[str, Formula] = {
    "nps": Formula(("survey.promoters", "survey.detractors", "survey.responses"), _nps, SURVEYS),
    "partner_satisfaction": Formula(
        ("survey.score", "survey.responses"), _mean("survey.score", "survey.responses"), SURVEYS
    ),
    "churn_risk": Formula(
        ("model.churn_risk",), lambda i: i.raw("model.churn_risk"), "a churn model (not built yet)"
    ),
    "collaboration_frequency": Formula(
        _collaboration, _collaboration_rate, "meetings and calls with the partner (events)", required=()
    ),
    "contract_compliance": Formula(
        ("partner.agreement_in_force",), _compliant, "partner agreements", total=Aggregate.MEAN
    ),
    "disputes_resolved": Formula(
        ("invoices.disputed", "invoices.disputes_corrected"),
        lambda i: ratio(i["invoices.disputes_corrected"], i["invoices.disputed"]),
        "invoices with disputed and corrected flags (finance)",
        required=("invoices.disputed",),
    ),
    "retention": Formula(
        ("accounts.retained", "accounts.at_start"),
        lambda i: ratio(i["accounts.retained"], i["accounts.at_start"]),
        ACCOUNTS,
    ),
    "customer_accounts": Formula(("accounts.active_end",), lambda i: int(i["accounts.active_end"]), ACCOUNTS),
    "tier_progression": Formula(
        ("partner.tier_rank_change",),
        lambda i: int(i["partner.tier_rank_change"]),
        "tier history (dated tier changes, recorded when partners are enrolled or move tier)",
        total=Aggregate.SUM,
    ),
    "csat_partner": Formula(("csat.sum", "csat.count"), _mean("csat.sum", "csat.count"), CSAT),
    "csat_direct": Formula(
        ("csat.direct.sum", "csat.direct.count"), _mean("csat.direct.sum", "csat.direct.count"), CSAT_DIRECT
    ),
    "csat_vs_direct": Formula(
        ("csat.sum", "csat.count", "csat.direct.sum", "csat.direct.count"),
        _csat_gap,
        f"{CSAT} and {CSAT_DIRECT}",
    ),
}
