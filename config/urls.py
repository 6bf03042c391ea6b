from django.urls import include, path

from config.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("openprm.accounts.urls")),
    path("partners/", include("openprm.partners.urls")),
    path("deals/", include("openprm.deals.urls")),
    path("portal/", include("openprm.portal.urls")),
    path("import/", include("openprm.integrations.urls")),
]
