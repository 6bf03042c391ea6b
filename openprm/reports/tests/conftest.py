"""Shared pieces of the reports tests: the notifications tests' real SMTP server (aiosmtpd), data written
through the real services (the dashboards tests' deals and events), definitions made through the service,
and runs started at a controlled moment so the period they cover holds that data."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.utils import timezone

from openprm.core.scoping import scope
from openprm.dashboards.tests.conftest import data  # noqa: F401  (fixture)
from openprm.notifications.tests.conftest import (  # noqa: F401  (fixtures)
    Inbox,
    Mail,
    deliver,
    receiver,
    smtp,
)
from openprm.reports.models import ReportDefinition, ReportRun
from openprm.reports.services import definition_create, run_start

__all__ = ["Inbox", "Mail", "attachments", "deliver", "make_definition", "pdf_text", "start_run"]


def make_definition(world: Any, **fields: Any) -> ReportDefinition:
    payload = {
        "name": fields.pop("name", "Weekly program summary"),
        "kind": fields.pop("kind", "program_summary"),
        "period": fields.pop("period", "last_month"),
        "formats": fields.pop("formats", ["pdf", "csv", "xlsx"]),
        **fields,
    }
    with scope(world.system.access_scope()):
        return definition_create(actor=world.system, data=payload)


def start_run(world: Any, definition: ReportDefinition, key: str = "test") -> ReportRun:
    """A run whose "last full month" is this month (the month the test data was written in)."""
    next_month = (timezone.now().replace(day=1) + datetime.timedelta(days=32)).replace(day=2)
    with scope(world.system.access_scope()):
        run, _ = run_start(definition=definition, trigger="manual", request_key=key, run_at=next_month)
    return run


def attachments(mail: Mail) -> dict[str, tuple[str, bytes]]:
    """filename → (content type, bytes) of a received e-mail's attachments."""
    return {
        str(part.get_filename()): (part.get_content_type(), part.get_payload(decode=True))
        for part in mail.message.iter_attachments()
    }


def pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def partner_contacts(world: Any) -> Any:
    """A contact with an e-mail at each partner (besides their portal users)."""
    from openprm.partners.models import Contact

    with scope(world.system.access_scope()):
        Contact.objects.create(
            workspace=world.workspace, partner=world.partner_a, name="Ann", email="ann@acme.test"
        )
        Contact.objects.create(
            workspace=world.workspace, partner=world.partner_b, name="Bob", email="bob@globex.test"
        )
    return world
