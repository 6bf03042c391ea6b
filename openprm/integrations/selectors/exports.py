"""Reads for CSV exports: scoped like every other read, streamed in batches."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.scoping import scope
from openprm.integrations.formats.partners import partner_export_header, partner_export_row
from openprm.partners.selectors import PartnerFilters, partner_list
from openprm.partners.services import PartnerLookups

EXPORT_BATCH = 500


def partner_export(*, actor: Actor, filters: PartnerFilters | None = None) -> Iterator[list[str]]:
    """The partners the actor may see (filtered like the list page) as canonical records, header first.

    Permission and filters are checked now; rows are read lazily in batches, each inside the actor's
    scope, so the iterator may be consumed after the request's scope has ended (streaming responses).
    The custom fields and the default program (whose tier is the ``tier`` column) are the import's own
    (``PartnerLookups``), so that an exported file imports unchanged.
    """
    actor.require(Perm.PARTNER_EXPORT)
    access = actor.access_scope()
    with scope(access):
        queryset = partner_list(actor=actor, filters=filters)
        lookups = PartnerLookups.load(actor)
    custom_keys = sorted(lookups.custom_fields)
    default = lookups.default_program.pk if lookups.default_program else None

    def rows() -> Iterator[list[str]]:
        yield partner_export_header(custom_keys)
        partners = queryset.iterator(chunk_size=EXPORT_BATCH)
        while True:
            with scope(access):
                batch = list(islice(partners, EXPORT_BATCH))
            if not batch:
                return
            for partner in batch:
                yield partner_export_row(partner, default_program_id=default, custom_field_keys=custom_keys)

    return rows()
