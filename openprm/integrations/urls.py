from django.urls import path

from openprm.integrations.formats.finance import COLUMNS as FINANCE_KINDS
from openprm.integrations.views import customers as customer_imports
from openprm.integrations.views import deals, finance, fx, partners

app_name = "integrations"
urlpatterns = [
    path("partners/", partners.partners_import, name="partners_import"),
    path("partners/export.csv", partners.partners_export, name="partners_export"),
    path("partners/<uuid:token>/", partners.partners_import_preview, name="partners_import_preview"),
    path("partners/<uuid:token>/result/", partners.partners_import_result, name="partners_import_result"),
    path("deals/", deals.deals_import_upload, name="deals_import"),
    path("deals/<uuid:token>/", deals.deals_import_preview, name="deals_import_preview"),
    path("deals/<uuid:token>/result/", deals.deals_import_result, name="deals_import_result"),
    path("finance/fx-rates/", fx.fx_import_upload, name="fx_import"),
    path("finance/fx-rates/<uuid:token>/", fx.fx_import_preview, name="fx-rates_import_preview"),
    path("finance/fx-rates/<uuid:token>/result/", fx.fx_import_result, name="fx-rates_import_result"),
    path("finance/<str:kind>/", finance.finance_import_upload, name="finance_import"),
    path("finance/<str:kind>/export.csv", finance.finance_export_csv, name="finance_export"),
    # named per kind: the shared import steps redirect to "<kind>_import_preview" and "<kind>_import_result"
    *(
        pattern
        for kind in FINANCE_KINDS
        for pattern in (
            path(
                f"finance/{kind}/<uuid:token>/",
                finance.finance_import_preview,
                {"kind": kind},
                f"{kind}_import_preview",
            ),
            path(
                f"finance/{kind}/<uuid:token>/result/",
                finance.finance_import_result,
                {"kind": kind},
                f"{kind}_import_result",
            ),
        )
    ),
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
