"""The staff pages of metric parameters and closed periods: admins add versions, close and reopen;
other staff read; partner users get 404; the periods list does not query per row."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from openprm.core.scoping import unscoped
from openprm.metrics.models import MetricParameter, PeriodClose

pytestmark = pytest.mark.django_db

PARAMS, PERIODS = "/metrics/parameters/", "/metrics/periods/"


def test_admins_add_a_parameter_version_and_see_it(world: Any, client_for: Any) -> None:
    client = client_for(world.admin)
    html = client.get(PARAMS).content.decode()
    assert 'id="param-active_window_days"' in html and 'id="parameter-form"' in html
    response = client.post(
        PARAMS,
        {"key": "contact_types", "value": "meeting, call", "effective_from": "2030-01", "note": "no e-mail"},
    )
    assert response.status_code == 302
    with unscoped():
        version = MetricParameter.objects.get()
    assert (version.value, version.effective_from) == (["call", "meeting"], datetime.date(2030, 1, 1))
    html = client.get(PARAMS).content.decode()
    assert "from <strong>2030-01</strong>: call, meeting" in html and "no e-mail" in html
    bad = client.post(
        PARAMS, {"key": "active_window_days", "value": "0", "effective_from": "2030-01"}, follow=True
    )
    assert "Give between 1 and 3660 days." in bad.content.decode()
    odd = client.post(
        PARAMS, {"key": "active_window_days", "value": "7", "effective_from": "x\x00"}, follow=True
    )
    assert odd.status_code == 200 and "YYYY-MM" in odd.content.decode()


def test_admins_close_and_reopen_and_others_only_read(world: Any, client_for: Any) -> None:
    admin = client_for(world.admin)
    assert admin.post(PERIODS, {"action": "close", "period": "2025-06"}).status_code == 302
    html = admin.get(PERIODS).content.decode()
    assert 'id="period-2025-06"' in html and 'id="period-2025-Q2"' in html and "admin@vendor.test" in html
    admin.post(PERIODS, {"action": "reopen", "period": "2025-06", "reason": "late invoices"})
    with unscoped():
        assert PeriodClose.objects.get(period="2025-06").status == "reopened"
    assert "late invoices" in admin.get(PERIODS).content.decode()
    analyst = client_for(world.analyst)
    html = analyst.get(PERIODS).content.decode()
    assert 'id="close-form"' not in html and 'id="period-2025-06"' in html
    refused = analyst.post(PERIODS, {"action": "close", "period": "2025-07"}, follow=True)
    assert "Only workspace admins" in refused.content.decode()
    assert 'id="parameter-form"' not in analyst.get(PARAMS).content.decode()


def test_partner_users_get_404_and_anonymous_visitors_the_login(
    world: Any, client_for: Any, client: Any
) -> None:
    for url in (PARAMS, PERIODS):
        assert client_for(world.a_admin).get(url).status_code == 404
        assert client_for(world.b_admin).post(url, {"period": "2025-01"}).status_code == 404
        assert client.get(url).status_code == 302


def test_the_periods_list_does_not_query_per_row(world: Any, client_for: Any) -> None:
    admin = client_for(world.admin)
    admin.post(PERIODS, {"action": "close", "period": "2025-03"})
    with CaptureQueriesContext(connection) as few:
        admin.get(PERIODS)
    for month in ("2025-06", "2025-09", "2025-12"):
        admin.post(PERIODS, {"action": "close", "period": month})
    with CaptureQueriesContext(connection) as many:
        assert admin.get(PERIODS).content.decode().count('id="period-') == 9
    assert len(many) == len(few)
