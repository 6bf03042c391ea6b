"""Who owns a tracking link or coupon: the partner it is for (never an archived one) and the program whose
attribution rules apply. Shared by the link and the coupon services."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from openprm.core.actors import Actor
from openprm.partners.models import Partner, Program


def owner_partner(partner_id: int | None, *, owned: str) -> Partner:
    """The partner a new ``owned`` thing ("link", "coupon") is for: it must exist in the scope and not be
    archived (an archived partner takes no new business)."""
    partner = Partner.objects.filter(pk=partner_id).first() if partner_id is not None else None
    if partner is None:
        raise ValidationError({"partner": f"Choose the partner this {owned} is for."})
    if partner.archived_at:
        raise ValidationError({"partner": partner.archived_message})
    return partner


def owner_program(actor: Actor, program_id: int | None) -> Program | None:
    """The program of the actor's workspace with this id (None: no program)."""
    if program_id is None:
        return None
    program = Program.objects.filter(pk=program_id, workspace_id=actor.workspace_id).first()
    if program is None:
        raise ValidationError({"program": "No such program."})
    return program
