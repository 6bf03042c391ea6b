"""The event-type catalog: built-in types every workspace has, plus each workspace's custom types.

A type says how its events count: ``contact`` types are communication with the partner (they set the
last-contact date and pair into reply times when they carry a direction: within a conversation, by
their ``in_reply_to`` / ``thread_id`` properties, else by the gap rule of ``activity.pairing``);
``qualifying`` types make a partner *active* for the program's active-partner share.
Pure data, no database access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPE_KEY = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
"""A type key: lower-case letters, digits and underscores, 2-60 characters, starting with a letter."""


@dataclass(frozen=True)
class EventKind:
    key: str
    label: str
    category: str  # portal, enablement, communication, support, campaign, content, feedback, custom
    contact: bool = False  # communication with the partner (last contact, frequency, response times)
    qualifying: bool = True  # counts towards the active-partner share
    direction: str = ""  # the direction implied by the type ("" = given per event, or none)
    builtin: bool = True


BUILTIN_TYPES: dict[str, EventKind] = {
    kind.key: kind
    for kind in [
        EventKind("portal_login", "Portal login", "portal"),
        EventKind("resource_download", "Resource download", "portal"),
        EventKind("training_started", "Training started", "enablement"),
        EventKind("training_completed", "Training completed", "enablement"),
        EventKind("certification_earned", "Certification earned", "enablement"),
        EventKind("certification_expired", "Certification expired", "enablement", qualifying=False),
        EventKind("meeting", "Meeting", "communication", contact=True),
        EventKind(
            "email_sent", "E-mail sent to the partner", "communication", contact=True, direction="outbound"
        ),
        EventKind(
            "email_received", "E-mail from the partner", "communication", contact=True, direction="inbound"
        ),
        EventKind("call", "Call", "communication", contact=True),
        EventKind("note", "Internal note", "communication", qualifying=False),
        EventKind("support_ticket_opened", "Support ticket opened", "support"),
        EventKind("support_ticket_resolved", "Support ticket resolved", "support", qualifying=False),
        EventKind("campaign_deliverable_due", "Campaign deliverable due", "campaign", qualifying=False),
        EventKind("campaign_deliverable_submitted", "Campaign deliverable submitted", "campaign"),
        EventKind(
            "campaign_deliverable_approved", "Campaign deliverable approved", "campaign", qualifying=False
        ),
        EventKind("content_post", "Content post", "content"),
        EventKind("survey_response", "Survey response", "feedback"),
    ]
}

DIRECTIONS = ("inbound", "outbound")
"""inbound = partner → us, outbound = us → partner."""

SOURCES = ("api", "csv", "ui", "integration")

CONTENT_PROPERTIES = ("reach", "impressions", "engagements", "followers")
"""Numeric properties of ``content_post`` events that roll up (followers is the audience after the post)."""


def kind_of(key: str, custom: dict[str, EventKind] | None = None) -> EventKind | None:
    """The kind of a type key: built-in first, then the workspace's custom types."""
    return BUILTIN_TYPES.get(key) or (custom or {}).get(key)
