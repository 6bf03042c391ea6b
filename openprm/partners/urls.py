from django.urls import path

from openprm.partners.views import agreements, contacts, partners, programs, settings

app_name = "partners"
urlpatterns = [
    path("", partners.partner_list, name="list"),
    path("new/", partners.partner_create, name="create"),
    path("bulk/", partners.bulk, name="bulk"),
    path("settings/", settings.workspace_settings, name="settings"),
    path("views/save/", partners.saved_view_save, name="view_save"),
    path("programs/new/", programs.program_create, name="program_create"),
    path("programs/<uuid:public_id>/", programs.program_detail, name="program_detail"),
    path("programs/<uuid:public_id>/edit/", programs.program_edit, name="program_edit"),
    path("programs/<uuid:public_id>/tiers/", programs.program_tiers, name="program_tiers"),
    path("views/<uuid:public_id>/delete/", partners.saved_view_delete, name="view_delete"),
    path("<uuid:public_id>/", partners.partner_detail, name="detail"),
    path("<uuid:public_id>/edit/", partners.partner_edit, name="edit"),
    path("<uuid:public_id>/delete/", partners.partner_delete, name="delete"),
    path("<uuid:public_id>/restore/", partners.partner_restore, name="restore"),
    path("<uuid:public_id>/history/", partners.partner_history, name="history"),
    path("<uuid:public_id>/tier/", partners.tier_change, name="tier"),
    path("<uuid:public_id>/contacts/new/", contacts.contact_create, name="contact_create"),
    path("<uuid:public_id>/agreements/new/", agreements.agreement_create, name="agreement_create"),
    path("contacts/<uuid:public_id>/", contacts.contact_edit, name="contact_edit"),
    path("contacts/<uuid:public_id>/delete/", contacts.contact_delete, name="contact_delete"),
    path("contacts/<uuid:public_id>/invite/", contacts.contact_invite, name="contact_invite"),
    path("agreements/<uuid:public_id>/", agreements.agreement_edit, name="agreement_edit"),
    path("agreements/<uuid:public_id>/delete/", agreements.agreement_delete, name="agreement_delete"),
    path("agreements/<uuid:public_id>/file/", agreements.agreement_file, name="agreement_file"),
]
