"""The report pages: the list (a bounded number of queries), the form with errors on their fields, the
detail with its delivery log, the preview (HTML and PDF) and the QBR pack; analysts read only."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from openprm.reports.tests.conftest import deliver, make_definition, pdf_text, start_run

pytestmark = pytest.mark.django_db


def form_data(world: Any, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Scorecards for the team",
        "kind": "partner_scorecard",
        "schedule": "weekly",
        "weekday": "0",
        "day": "1",
        "hour": "8",
        "timezone": "Europe/Berlin",
        "period": "last_week",
        "formats": ["pdf", "csv"],
        "staff_recipients": [str(world.manager.public_id)],
        "enabled": "on",
        **changes,
    }


def test_the_list_runs_a_bounded_number_of_queries(world: Any, client_for: Any, smtp: Any) -> None:
    client = client_for(world.manager)
    make_definition(world, name="First", formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    client.get(reverse("reports:list"))
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("reports:list")).status_code == 200
    for n in range(5):
        d = make_definition(
            world, name=f"Report {n}", formats=["csv"], staff_recipients=[str(world.analyst.public_id)]
        )
        start_run(world, d, key=f"k{n}")
    deliver(world.workspace.pk)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("reports:list"))
    assert "Report 4" in page.content.decode()
    assert len(many) <= len(few) + 2  # the runs' deliveries: one prefetch


def test_the_form_creates_a_report_and_names_bad_fields(world: Any, client_for: Any) -> None:
    client = client_for(world.admin)
    bad = client.post(reverse("reports:create"), form_data(world, formats=[], timezone="Nowhere/City"))
    assert bad.status_code == 200
    form = bad.context["form"]
    assert set(form.errors) >= {"formats", "timezone"}
    none = client.post(reverse("reports:create"), form_data(world, staff_recipients=[]))
    assert "staff_recipients" in none.context["form"].errors
    done = client.post(reverse("reports:create"), form_data(world))
    assert done.status_code == 302
    detail = client.get(done["Location"])
    text = detail.content.decode()
    assert "Weekly on Monday at 08:00 Europe/Berlin" in text and "Send now" in text


def test_the_preview_shows_the_report_in_the_browser_and_as_pdf(data: Any, client_for: Any) -> None:
    world = data
    definition = make_definition(world, staff_recipients=[str(world.manager.public_id)])
    client = client_for(world.analyst)
    url = reverse("reports:preview", args=[definition.public_id])
    page = client.get(url).content.decode()
    assert "Top partners" in page and "Acme Resellers" in page and "data:image/svg+xml" in page
    as_acme = client.get(url, {"partner": str(world.partner_a.public_id), "as": "partner"}).content.decode()
    assert "Acme Resellers" in as_acme and "Globex" not in as_acme
    pdf = client.get(url, {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and "Globex Referrals" in pdf_text(pdf.content)


def test_the_qbr_pack_page_and_pdf(data: Any, client_for: Any) -> None:
    world = data
    client = client_for(world.manager)
    picker = client.get(reverse("reports:qbr"))
    assert "Acme Resellers" in picker.content.decode()
    from openprm.dashboards.filters import today
    from openprm.metrics.periods import Period

    quarter = Period.quarter_of(today()).key
    pdf = client.get(
        reverse("reports:qbr"),
        {"partner": str(world.partner_a.public_id), "period": quarter, "format": "pdf"},
    )
    text = pdf_text(pdf.content)
    assert "Quarterly business review" in text and "Acme Resellers" in text and "Top actions" in text
    assert "Customer 1000.00 closed_won" in text


def test_analysts_read_but_do_not_edit_or_send(world: Any, client_for: Any) -> None:
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    client = client_for(world.analyst)
    detail = client.get(reverse("reports:detail", args=[definition.public_id]))
    assert detail.status_code == 200 and "Send now" not in detail.content.decode()
    assert client.get(reverse("reports:create")).status_code == 404
    assert (
        client.post(reverse("reports:detail", args=[definition.public_id]), {"key": "x"}).status_code == 404
    )
