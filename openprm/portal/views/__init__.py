"""Partner-facing pages. Everything here runs inside the partner user's scope: only their own partner.

One module per area: ``home`` (home page, contacts, team), ``deals``, ``referrals`` (tracking links and
conversions), ``notifications``, ``performance``, ``customers`` (customers and invoices) and
``commissions`` (balances, statements, payout details); ``common`` holds what they share.
"""

from openprm.portal.views.commissions import commission_statement, commissions, payout_details
from openprm.portal.views.customers import customer_detail, customer_list, invoice_list
from openprm.portal.views.deals import (
    deal_customers,
    deal_detail,
    deal_edit,
    deal_list,
    deal_register,
    deal_stage,
    deal_submitted,
)
from openprm.portal.views.home import contact_form, home, team, team_member
from openprm.portal.views.notifications import notification_count, notifications
from openprm.portal.views.performance import performance, performance_data, performance_export
from openprm.portal.views.referrals import conversion_list, link_list, link_set_active

__all__ = [
    "commission_statement",
    "commissions",
    "contact_form",
    "conversion_list",
    "customer_detail",
    "customer_list",
    "deal_customers",
    "deal_detail",
    "deal_edit",
    "deal_list",
    "deal_register",
    "deal_stage",
    "deal_submitted",
    "home",
    "invoice_list",
    "link_list",
    "link_set_active",
    "notification_count",
    "notifications",
    "payout_details",
    "performance",
    "performance_data",
    "performance_export",
    "team",
    "team_member",
]
