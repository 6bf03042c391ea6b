from django.urls import path

from openprm.partners import views

app_name = "partners"
urlpatterns = [
    path("", views.partner_list, name="list"),
    path("new/", views.partner_create, name="create"),
    path("bulk/", views.bulk, name="bulk"),
    path("settings/", views.workspace_settings, name="settings"),
    path("views/save/", views.saved_view_save, name="view_save"),
    path("programs/new/", views.program_create, name="program_create"),
    path("programs/<uuid:public_id>/", views.program_detail, name="program_detail"),
    path("programs/<uuid:public_id>/edit/", views.program_edit, name="program_edit"),
    path("programs/<uuid:public_id>/tiers/", views.program_tiers, name="program_tiers"),
    path("views/<uuid:public_id>/delete/", views.saved_view_delete, name="view_delete"),
    path("<uuid:public_id>/", views.partner_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.partner_edit, name="edit"),
    path("<uuid:public_id>/delete/", views.partner_delete, name="delete"),
    path("<uuid:public_id>/restore/", views.partner_restore, name="restore"),
    path("<uuid:public_id>/history/", views.partner_history, name="history"),
    path("<uuid:public_id>/tier/", views.tier_change, name="tier"),
    path("<uuid:public_id>/contacts/new/", views.contact_create, name="contact_create"),
    path("<uuid:public_id>/agreements/new/", views.agreement_create, name="agreement_create"),
    path("contacts/<uuid:public_id>/", views.contact_edit, name="contact_edit"),
    path("contacts/<uuid:public_id>/delete/", views.contact_delete, name="contact_delete"),
    path("contacts/<uuid:public_id>/invite/", views.contact_invite, name="contact_invite"),
    path("agreements/<uuid:public_id>/", views.agreement_edit, name="agreement_edit"),
    path("agreements/<uuid:public_id>/delete/", views.agreement_delete, name="agreement_delete"),
    path("agreements/<uuid:public_id>/file/", views.agreement_file, name="agreement_file"),
]
