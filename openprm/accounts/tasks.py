"""Jobs of the accounts app: none on demand yet; the delivery of account e-mails from the outbox."""

from __future__ import annotations

from openprm.accounts.services import EMAIL, email_send
from openprm.core.outbox import outbox_handler

outbox_handler(EMAIL)(email_send)
