"""The reports API: definitions CRUD with errors naming the field, the runs and their delivery log,
send-now (idempotent per key), the preview; analysts read, partner users get 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from openprm.reports.tests.conftest import deliver, pdf_text

pytestmark = pytest.mark.django_db


def body(world: Any, **changes: Any) -> dict[str, Any]:
    return {
        "name": "Monthly pipeline",
        "kind": "pipeline_review",
        "schedule": "monthly",
        "day": 2,
        "hour": 7,
        "timezone": "Europe/Berlin",
        "period": "last_month",
        "formats": ["pdf", "xlsx"],
        "staff_recipients": [str(world.manager.public_id)],
        **changes,
    }


def test_definitions_crud_with_field_errors(world: Any, api_for: Any) -> None:
    api = api_for(world.admin)
    created = api.post("/api/v1/reports", body(world), content_type="application/json")
    assert created.status_code == 201, created.content
    report = created.json()
    assert report["next_run_at"].startswith(("20",)) and report["formats"] == ["pdf", "xlsx"]

    bad = api.post(
        "/api/v1/reports",
        body(world, timezone="Mars/Olympus", formats=[], day=31, kind="poem", staff_recipients=["nobody"]),
        content_type="application/json",
    )
    assert bad.status_code == 422
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"timezone", "formats", "day", "kind", "staff_recipients"}

    url = f"/api/v1/reports/{report['id']}"
    patched = api.patch(url, {"schedule": "weekly", "weekday": 4}, content_type="application/json")
    assert patched.status_code == 200 and patched.json()["schedule"] == "weekly"
    assert api.get("/api/v1/reports").json()["count"] == 1
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_send_now_with_a_key_sends_once_and_runs_list_the_deliveries(
    world: Any, api_for: Any, smtp: Any
) -> None:
    api = api_for(world.manager)
    report = api.post(
        "/api/v1/reports", body(world, formats=["xlsx"]), content_type="application/json"
    ).json()
    send = f"/api/v1/reports/{report['id']}/send"
    first = api.post(send, {"key": "k1"}, content_type="application/json")
    again = api.post(send, {}, content_type="application/json", headers={"Idempotency-Key": "k1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["run"]["id"] == again.json()["run"]["id"]
    deliver(world.workspace.pk)
    assert len(smtp.mails) == 1
    runs = api.get(f"/api/v1/reports/{report['id']}/runs").json()
    (delivery,) = runs["items"][0]["deliveries"]
    assert delivery["email"] == "manager@vendor.test" and delivery["status"] == "sent"
    assert delivery["sizes"]["xlsx"] > 0


def test_preview_as_html_and_pdf(data: Any, api_for: Any) -> None:
    world = data
    api = api_for(world.admin)
    report = api.post("/api/v1/reports", body(world, kind="qbr"), content_type="application/json").json()
    url = f"/api/v1/reports/{report['id']}/preview"
    html = api.get(url, {"partner": str(world.partner_b.public_id), "as_partner": "true"})
    assert html.status_code == 200 and html["Content-Type"].startswith("text/html")
    page = html.content.decode()
    assert "Globex Referrals" in page and "Top actions" in page and "Acme" not in page
    pdf = api.get(url, {"partner": str(world.partner_a.public_id), "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert "Acme Resellers" in pdf_text(pdf.content)


def test_analysts_read_and_partner_users_get_404(world: Any, api_for: Any) -> None:
    report = api_for(world.admin).post("/api/v1/reports", body(world), content_type="application/json").json()
    analyst = api_for(world.analyst)
    assert analyst.get("/api/v1/reports").status_code == 200
    assert analyst.post("/api/v1/reports", body(world), content_type="application/json").status_code == 403
    assert (
        analyst.post(f"/api/v1/reports/{report['id']}/send", {}, content_type="application/json").status_code
        == 403
    )
    partner = api_for(world.a_admin)
    for path in (
        "/api/v1/reports",
        f"/api/v1/reports/{report['id']}",
        f"/api/v1/reports/{report['id']}/runs",
    ):
        assert partner.get(path).status_code == 404, path
    assert partner.post("/api/v1/reports", body(world), content_type="application/json").status_code == 404
    assert reverse("reports:list")  # the pages exist beside the API
