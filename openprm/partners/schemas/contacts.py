"""Schemas of a partner's contacts."""

from __future__ import annotations

import datetime
import uuid

from ninja import Schema

from openprm.core.schemas import Input, Name, Patch
from openprm.partners.models import Contact
from openprm.partners.schemas.fields import ContactRoleIn, Str40, Str120, Str254


class ContactCreate(Input):
    name: Name
    email: Str254 = ""
    phone: Str40 = ""
    title: Str120 = ""
    role: ContactRoleIn = Contact.Role.OTHER
    is_primary: bool = False


class ContactPatch(Patch):
    name: Name | None = None
    email: Str254 | None = None
    phone: Str40 | None = None
    title: Str120 | None = None
    role: ContactRoleIn | None = None
    is_primary: bool | None = None


class ContactOut(Schema):
    public_id: uuid.UUID
    partner: uuid.UUID
    name: str
    email: str
    phone: str
    title: str
    role: str
    is_primary: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_partner(obj: Contact) -> uuid.UUID:
        return obj.partner.public_id
