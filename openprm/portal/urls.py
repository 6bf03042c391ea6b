from django.urls import path

from openprm.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("contacts/new/", views.contact_form, name="contact_create"),
    path("contacts/<uuid:public_id>/", views.contact_form, name="contact_edit"),
    path("team/", views.team, name="team"),
    path("team/<uuid:public_id>/", views.team_member, name="team_member"),
    path("deals/", views.deal_list, name="deals"),
    path("deals/new/", views.deal_register, name="deal_register"),
    path("deals/customers/", views.deal_customers, name="deal_customers"),
    path("deals/<uuid:public_id>/", views.deal_detail, name="deal_detail"),
    path("deals/<uuid:public_id>/submitted/", views.deal_submitted, name="deal_submitted"),
    path("deals/<uuid:public_id>/edit/", views.deal_edit, name="deal_edit"),
    path("deals/<uuid:public_id>/stage/", views.deal_stage, name="deal_stage"),
    path("links/", views.link_list, name="links"),
    path("links/<uuid:public_id>/active/", views.link_set_active, name="link_set_active"),
    path("conversions/", views.conversion_list, name="conversions"),
    path("performance/", views.performance, name="performance"),
    path("performance/data/<slug:key>/", views.performance_data, name="performance_data"),
    path("performance/export/<slug:key>.<slug:fmt>", views.performance_export, name="performance_export"),
    path("customers/", views.customer_list, name="customers"),
    path("customers/<uuid:public_id>/", views.customer_detail, name="customer_detail"),
    path("invoices/", views.invoice_list, name="invoices"),
    path("commissions/", views.commissions, name="commissions"),
    path(
        "commissions/statements/<uuid:public_id>.<slug:fmt>",
        views.commission_statement,
        name="commission_statement",
    ),
    path("commissions/payout-details/", views.payout_details, name="payout_details"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/count/", views.notification_count, name="notification_count"),
]
