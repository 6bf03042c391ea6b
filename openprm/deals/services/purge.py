"""A partner purge's deal writes: the partner's deals, and its co-sells on other partners' deals, deleted
inside :func:`~openprm.deals.rollups.deals_tracked` like every deal write, so that the rollups lose exactly
what those deals added — the co-sold wins they credited to other partners included — before the purge's
cascade takes the partner's remaining rows. Registered with the partners app's purge
(``partners.services.removal.register_purge_step``) when the deals app is ready."""

from __future__ import annotations

from collections import Counter

from openprm.core.scoping import unscoped
from openprm.deals.models import Deal, DealCoSeller
from openprm.deals.rollups import deals_tracked
from openprm.partners.models import Partner


def partner_deals_delete(*, partner: Partner) -> dict[str, int]:
    """Delete the partner's deals and its co-seller entries on other deals, tracked (inside the purge's
    transaction); returns the deleted row counts per model."""
    counts: Counter[str] = Counter()
    with unscoped():
        owned = list(
            Deal.objects.filter(workspace_id=partner.workspace_id, partner_id=partner.pk).values_list(
                "pk", flat=True
            )
        )
        co_sold = DealCoSeller.objects.filter(workspace_id=partner.workspace_id, partner_id=partner.pk)
        touched = {*owned, *co_sold.values_list("deal_id", flat=True)}
        if not touched:
            return {}
        with deals_tracked(partner.workspace_id, touched):
            counts.update(co_sold.delete()[1])
            for start in range(0, len(owned), 1_000):
                counts.update(Deal.objects.filter(pk__in=owned[start : start + 1_000]).delete()[1])
    return {label: n for label, n in counts.items() if n}
