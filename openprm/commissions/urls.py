"""Staff pages under /commissions/: each views module lists its own paths (plans and versions, the
ledger, payouts and statements)."""

from openprm.commissions.views import ledger, payouts, plans

app_name = "commissions"
urlpatterns = [*plans.urlpatterns, *ledger.urlpatterns, *payouts.urlpatterns]
