"""Reports by e-mail through a real SMTP server: recipients, subject, body, attachments of the right types,
the PDF's text and the XLSX's cells; partner-facing copies carry only their own partner's data."""

from __future__ import annotations

import io
from typing import Any

import pytest
from openpyxl import load_workbook

from openprm.core.scoping import scope
from openprm.reports.models import ReportDelivery
from openprm.reports.tests.conftest import attachments, deliver, make_definition, pdf_text, start_run

pytestmark = pytest.mark.django_db


def test_a_program_summary_reaches_staff_with_pdf_csv_and_xlsx(data: Any, smtp: Any) -> None:
    world = data
    definition = make_definition(
        world, staff_recipients=[str(world.manager.public_id), str(world.analyst.public_id)]
    )
    start_run(world, definition)
    assert deliver(world.workspace.pk) == 2

    assert sorted(r for m in smtp.mails for r in m.recipients) == [
        "analyst@vendor.test",
        "manager@vendor.test",
    ]
    mail = smtp.to("manager@vendor.test")[0]
    assert mail.subject.startswith("Weekly program summary: ")
    assert "unsubscribe" in mail.part("text/plain").lower()
    assert "/reports/unsubscribe/" in mail.part("text/html")
    files = attachments(mail)
    types = sorted({t for t, _ in files.values()})
    assert types == [
        "application/pdf",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
    ]
    pdf = next(body for t, body in files.values() if t == "application/pdf")
    text = pdf_text(pdf)
    assert "Acme Resellers" in text and "Globex Referrals" in text
    assert "1,000.00" in text  # Acme's won revenue in the top partners table
    xlsx = next(body for t, body in files.values() if t.endswith("sheet"))
    book = load_workbook(io.BytesIO(xlsx))
    leaders = next(book[name] for name in book.sheetnames if name.lower().startswith("top"))
    header = [c.value for c in leaders[1]]
    revenue = next(i for i, label in enumerate(header) if str(label).startswith("Won revenue"))
    rows = {row[0]: row for row in leaders.iter_rows(min_row=2, values_only=True)}
    assert rows["Acme Resellers"][revenue] == 1000.0
    assert rows["Globex Referrals"][revenue] == 200.0
    with scope(world.system.access_scope()):
        logged = ReportDelivery.objects.get(email="manager@vendor.test")
    assert logged.status == "sent" and logged.attempts == 1 and logged.sizes["pdf"] == len(pdf)


def test_partner_copies_carry_only_their_own_partner(data: Any, smtp: Any, partner_contacts: Any) -> None:
    world = data
    definition = make_definition(
        world, kind="pipeline_review", name="Pipeline review", partner_recipients=True
    )
    start_run(world, definition)
    deliver(world.workspace.pk)

    to_acme = {r for m in smtp.mails for r in m.recipients if r.endswith("@acme.test")}
    assert to_acme == {"ann@acme.test", "admin@acme.test", "rep@acme.test"}
    for mail in smtp.mails:
        files = attachments(mail)
        everything = "\n".join(
            [mail.part("text/plain")]
            + [pdf_text(b) if t == "application/pdf" else "" for t, b in files.values()]
            + [b.decode("utf-8-sig") for t, b in files.values() if t == "text/csv"]
        )
        if mail.recipients[0].endswith("@acme.test"):
            assert "Acme Resellers" in everything and "Customer 1000.00 closed_won" in everything
            assert (
                "Globex" not in everything
                and "Customer 200.00" not in everything
                and "700.00" not in everything
            )
        else:
            assert "Globex Referrals" in everything and "Customer 700.00" in everything
            assert "Acme" not in everything and "Customer 1000.00" not in everything


def test_a_qbr_pack_is_one_pdf_per_partner(data: Any, smtp: Any) -> None:
    world = data
    definition = make_definition(
        world, kind="qbr", name="QBR", formats=["pdf"], staff_recipients=[str(world.manager.public_id)]
    )
    start_run(world, definition)
    deliver(world.workspace.pk)
    assert len(smtp.mails) == 2
    acme = next(m for m in smtp.mails if "Acme" in m.subject)
    ((kind, pdf),) = attachments(acme).values()
    assert kind == "application/pdf"
    text = pdf_text(pdf)
    for heading in ("Scorecard", "Trends", "Targets and pace", "Deals", "Engagement", "Top actions"):
        assert heading in text
    assert "Customer 1000.00 closed_won" in text and "Globex" not in text


def test_an_owned_only_manager_gets_only_their_own_partners(data: Any, smtp: Any) -> None:
    from openprm.core.permissions import Role
    from openprm.core.scoping import unscoped
    from openprm.partners.models import Partner
    from openprm.testing import make_user

    world = data
    own = make_user(world.workspace, "own@vendor.test", Role.MANAGER, owned_only=True)
    with unscoped():
        Partner.objects.filter(pk=world.partner_a.pk).update(owner=own)
    definition = make_definition(world, formats=["pdf", "csv"], staff_recipients=[str(own.public_id)])
    start_run(world, definition)
    deliver(world.workspace.pk)
    (mail,) = smtp.to("own@vendor.test")
    files = attachments(mail)
    text = "\n".join(
        pdf_text(b) if t == "application/pdf" else b.decode("utf-8-sig") for t, b in files.values()
    )
    assert "Acme Resellers" in text and "1,000.00" in text
    assert "Globex" not in text


def test_the_schedule_job_is_registered_and_runs_the_workspace_job(world: Any) -> None:
    from django.utils import timezone

    from openprm.core.tasks import load_jobs, periodic_jobs
    from openprm.reports.tasks import reports_send_due

    load_jobs()
    assert "config.tasks.reports_send_due_all" in periodic_jobs()
    definition = make_definition(world, formats=["csv"], staff_recipients=[str(world.manager.public_id)])
    with scope(world.system.access_scope()):
        type(definition).objects.filter(pk=definition.pk).update(next_run_at=timezone.now())
    assert reports_send_due.call_local(world.workspace.pk) == 1
    assert reports_send_due.call_local(world.workspace.pk) == 0
