"""Staff pages of the metrics app (the views module lists its routes)."""

from __future__ import annotations

from openprm.metrics import views

app_name = "metrics"
urlpatterns = [*views.urlpatterns]
