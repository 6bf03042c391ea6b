"""Staff pages of the activity app (each views module lists its own routes)."""

from __future__ import annotations

from openprm.activity.views import engagement, events, referrals

app_name = "activity"
urlpatterns = [*engagement.urlpatterns, *events.urlpatterns, *referrals.urlpatterns]
