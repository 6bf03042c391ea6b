"""The audit entries of the deals bulk service: related objects named as ``core.audit.snapshot`` names
them (stages, programs, partners, users by their ``str``), and the ``changes`` of a create entry written
straight as JSON text, the same as ``audit_record(after=snapshot(deal))`` records for ``deal_register``."""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from json.encoder import encode_basestring_ascii as encode_text
from typing import Any

from openprm.accounts.models import User
from openprm.core.audit import SKIPPED_FIELDS
from openprm.core.scoping import unscoped
from openprm.deals.models import Deal, PipelineStage
from openprm.partners.models import Partner, Program

COMPACT = (",", ":")  # JSON separators of the changes written here (no spaces: smaller rows)


def audit_value(value: Any) -> Any:
    """A value as the audit trail stores it (``core.audit.snapshot``): dates as ISO text, decimals and
    ids as text."""
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


@dataclass(frozen=True, slots=True)
class StageName:
    name: str
    outcome: str
    program_id: int
    order: int


class DealNames:
    """Names of the stages, programs and partners of the workspace (related objects are audited by
    name), loaded once and again when a batch names one created since."""

    def __init__(self, workspace_id: int) -> None:
        self.workspace_id = workspace_id
        self.stages: dict[int, StageName] = {}
        self.first_stage: dict[int, int] = {}  # program → its first stage
        self.programs: dict[int, str] = {}
        self.partners: dict[int, str] = {}
        self.users: dict[int, str] = {}

    def user(self, pk: int) -> str:
        """A user as the audit trail names one (``str(user)``), read the first time."""
        found = self.users.get(pk)
        if found is None:
            found = self.users[pk] = str(User.objects.get(pk=pk))
        return found

    def load(self, values: dict[str, Any]) -> None:
        if values["stage_id"] not in self.stages or values["program_id"] not in self.first_stage:
            self._load_stages()
        if values["partner_id"] not in self.partners:
            with unscoped():
                partners = Partner.objects.filter(workspace_id=self.workspace_id)
                self.partners = dict(partners.values_list("id", "name"))

    def _load_stages(self) -> None:
        with unscoped():
            stages = PipelineStage.objects.filter(workspace_id=self.workspace_id).order_by(
                "program_id", "order"
            )
            rows = stages.values_list("id", "name", "outcome", "program_id", "order")
            self.stages = {
                pk: StageName(name, outcome, program, order) for pk, name, outcome, program, order in rows
            }
            programs = Program.objects.filter(workspace_id=self.workspace_id)
            self.programs = dict(programs.values_list("id", "name"))
        self.first_stage = {}
        for pk, stage in self.stages.items():
            self.first_stage.setdefault(stage.program_id, pk)

    def of(self, name: str, value: Any) -> Any:
        """A field's audited value: related objects by name."""
        if value is None:
            return None
        if name == "stage":
            return self.stages[value].name
        if name == "program":
            return self.programs[value]
        if name == "partner":
            return self.partners[value]
        return audit_value(value)


class CreateEntry:
    """The ``changes`` of a create entry, as ``audit_record(after=snapshot(deal))`` records them (every
    field that is set, by field name, related objects by name), written straight as JSON text: through
    dicts and ``json.dumps`` the ~30 fields of each deal cost more than the rest of its audit write.
    Fragments of values that repeat (names, dates, stages) are kept, up to ``MEMO`` per field."""

    MEMO = 16_384

    def __init__(self, names: DealNames, fields: Mapping[str, Any]) -> None:
        """``fields``: attname → default of the deal fields a bulk write sets (None: required)."""
        # (attname, default, JSON before its value, how to encode one, fragments by value or None, whether
        # the value is a datetime) of each field ``snapshot`` records, in its order; a None value is left
        # out (as by ``diff``), a field no bulk write sets has its column's default.
        self.fields: list[tuple[str, Any, str, Callable[[Any], str], dict[Any, str] | None, bool]] = []
        encoders: dict[str, Callable[[Any], str]] = {
            "partner": lambda pk: encode_text(names.partners[pk]),
            "program": lambda pk: encode_text(names.programs[pk]),
            "stage": lambda pk: encode_text(names.stages[pk].name),
            "owner": lambda pk: encode_text(names.user(pk)),
            "registered_by": lambda pk: encode_text(names.user(pk)),
        }
        for fld in Deal._meta.concrete_fields:
            if fld.name in SKIPPED_FIELDS:
                continue
            head = f'"{fld.name}":{{"before":null,"after":'
            kind = fld.get_internal_type()
            encode = encoders.get(fld.name) or _ENCODERS.get(kind, _encode_json)
            if fld.attname in fields:
                default = fields[fld.attname]
            else:  # not written by a bulk write: the column's default
                default = None if fld.is_relation else fld.get_default()
            repeats = kind not in ("JSONField", "DecimalField") and fld.attname != "external_id"
            memo: dict[Any, str] | None = {} if repeats else None
            self.fields.append((fld.attname, default, head, encode, memo, kind == "DateTimeField"))

    def changes(self, values: dict[str, Any]) -> str:
        parts: list[str] = []
        append, get = parts.append, values.get  # bound once: ~30 fields a deal, 100,000s of deals
        for attname, default, head, encode, memo, zoned in self.fields:
            value = get(attname, default)
            if value is None:
                continue
            if memo is None:
                append(head + encode(value) + "}")
                continue
            key = (value, value.tzinfo) if zoned else value  # equal instants in two zones read apart
            fragment = memo.get(key)
            if fragment is None:
                if len(memo) >= self.MEMO:
                    memo.clear()
                fragment = memo[key] = head + encode(value) + "}"
            append(fragment)
        return "{" + ",".join(parts) + "}"


def _encode_json(value: Any) -> str:
    if type(value) is dict and not value:  # most deals' properties: json.dumps({}) is "{}"
        return "{}"
    return json.dumps(audit_value(value), separators=COMPACT)


def _encode_iso(value: datetime.date) -> str:
    return '"' + value.isoformat() + '"'


def _encode_str(value: Any) -> str:
    return '"' + str(value) + '"'  # decimals: digits, sign and point only


_ENCODERS: dict[str, Callable[[Any], str]] = {
    "CharField": encode_text,
    "TextField": encode_text,
    "EmailField": encode_text,
    "SlugField": encode_text,
    "DateTimeField": _encode_iso,
    "DateField": _encode_iso,
    "DecimalField": _encode_str,
}
