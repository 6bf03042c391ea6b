from django.urls import include, path

from config.api import api
from openprm.activity.views.referrals import track_redirect

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("openprm.accounts.urls")),
    path("partners/", include("openprm.partners.urls")),
    path("deals/", include("openprm.deals.urls")),
    path("activity/", include("openprm.activity.urls")),
    path("r/<str:code>", track_redirect, name="track_redirect"),
    path("portal/", include("openprm.portal.urls")),
    path("import/", include("openprm.integrations.urls")),
]
