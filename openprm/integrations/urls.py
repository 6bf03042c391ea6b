from django.urls import path

from openprm.integrations.views import customers as customer_imports
from openprm.integrations.views import deals, partners

app_name = "integrations"
urlpatterns = [
    path("partners/", partners.partners_import, name="partners_import"),
    path("partners/export.csv", partners.partners_export, name="partners_export"),
    path("partners/<uuid:token>/", partners.partners_import_preview, name="partners_import_preview"),
    path("partners/<uuid:token>/result/", partners.partners_import_result, name="partners_import_result"),
    path("deals/", deals.deals_import_upload, name="deals_import"),
    path("deals/<uuid:token>/", deals.deals_import_preview, name="deals_import_preview"),
    path("deals/<uuid:token>/result/", deals.deals_import_result, name="deals_import_result"),
]

# customer imports (accounts, account-changes, csat, usage): named after the pending upload's kind
urlpatterns += [
    path("customers/<str:kind>/", customer_imports.customers_import_upload, name="customers_import"),
    *(
        pattern
        for kind, pending_kind in customer_imports.PENDING_KINDS.items()
        for pattern in (
            path(
                f"customers/{kind}/<uuid:token>/",
                customer_imports.customers_import_preview,
                {"kind": kind},
                f"{pending_kind}_import_preview",
            ),
            path(
                f"customers/{kind}/<uuid:token>/result/",
                customer_imports.customers_import_result,
                {"kind": kind},
                f"{pending_kind}_import_result",
            ),
        )
    ),
]
