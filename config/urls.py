from django.urls import include, path

from config.api import api
from openprm.activity.views.referrals import track_redirect
from openprm.core.health import health

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("openprm.accounts.urls")),
    path("settings/", include("openprm.core.urls")),  # the installation's admin pages: Jobs
    path("partners/", include("openprm.partners.urls")),
    path("deals/", include("openprm.deals.urls")),
    path("activity/", include("openprm.activity.urls")),
    path("metrics/", include("openprm.metrics.urls")),
    path("finance/", include("openprm.finance.urls")),
    path("customers/", include("openprm.customers.urls")),
    path("scorecards/", include("openprm.scorecards.urls")),
    path("dashboards/", include("openprm.dashboards.urls")),
    path("alerts/", include("openprm.alerts.urls")),
    path("reports/", include("openprm.reports.urls")),
    path("commissions/", include("openprm.commissions.urls")),
    path("r/<str:code>", track_redirect, name="track_redirect"),
    path("health/", health, name="health"),  # load balancers and monitors: no login, JSON, 503 when down
    path("portal/", include("openprm.portal.urls")),
    path("notifications/", include("openprm.notifications.urls")),
    path("import/", include("openprm.integrations.urls")),
]
