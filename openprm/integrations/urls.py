from django.urls import path

from openprm.integrations import views

app_name = "integrations"
urlpatterns = [
    path("partners/", views.partners_import, name="partners_import"),
    path("partners/export.csv", views.partners_export, name="partners_export"),
    path("partners/<uuid:token>/", views.partners_import_preview, name="partners_import_preview"),
    path("partners/<uuid:token>/result/", views.partners_import_result, name="partners_import_result"),
    path("deals/", views.deals_import_upload, name="deals_import"),
    path("deals/<uuid:token>/", views.deals_import_preview, name="deals_import_preview"),
    path("deals/<uuid:token>/result/", views.deals_import_result, name="deals_import_result"),
]
