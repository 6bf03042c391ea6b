"""The partner's last contact, for partner lists and the partner page (registered with the partners app
in ``ActivityConfig.ready``: partners sits below activity and cannot import it).

The engagement metrics themselves are read in ``metrics.selectors``.
"""

from __future__ import annotations

from django.db.models import OuterRef, Subquery

from openprm.activity.models import PartnerDayMetric


def last_contact_subquery() -> Subquery:
    """The day of a partner's last contact, as a subquery on ``OuterRef("pk")`` (for partner lists)."""
    return Subquery(
        PartnerDayMetric.objects.filter(partner_id=OuterRef("pk"), metric="contact", value__gt=0)
        .order_by("-day")
        .values("day")[:1]
    )
