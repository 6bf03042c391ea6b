"""Staff pages of the activity app (each views module lists its own routes)."""

from __future__ import annotations

from openprm.activity.views import events, referrals, timeline

app_name = "activity"
urlpatterns = [*timeline.urlpatterns, *events.urlpatterns, *referrals.urlpatterns]
