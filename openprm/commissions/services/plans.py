"""Plans, versions and assignments: drafts are edited, publishing freezes a version (database guard),
editing a published plan means a new draft effective from a later date. Every write is audited."""

from __future__ import annotations

import datetime
import json
import math
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from openprm.commissions.models import Plan, PlanAssignment, PlanVersion, Selection, SubPartner
from openprm.commissions.rules import RulesError, parse_rules
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry
from openprm.core.permissions import Perm
from openprm.partners.models import Partner

FROZEN_ONCE_PUBLISHED = ("currency", "selection", "hold_days")
PLAN_FIELDS = ("name", "description", "program", "currency", "hold_days", "min_payout", "selection")


# Condition fields the accrual does not fill yet (a condition on one would never match): none today.
UNFILLED_FIELDS: tuple[str, ...] = ()

# What no rules document holds, whatever its schema allows where a value may be anything (a condition's
# value): the database stores it, the engine compares it, a page shows it.
MAX_DIGITS = 14  # before the decimal point (money is at most 14 digits)
MAX_DEPTH = 32  # objects and lists inside one another (conditions: about 15 groups deep)
MAX_TEXT = 1000  # characters in one text

TOO_DEEP = f"nested more than {MAX_DEPTH} levels deep"
NOT_TEXT = "contains a character that is not text (U+0000 or an unpaired surrogate)"
_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")  # JSON can write them, PostgreSQL's jsonb refuses them

Problem = dict[str, str]  # {"path": "rules[0].label", "message": …}, as RulesError lists them


def _text_problem(text: str) -> tuple[bool, str] | None:
    """(unreadable?, message) of a text, or None."""
    if _NOT_STORABLE.search(text):
        return True, NOT_TEXT
    if len(text) > MAX_TEXT:
        return False, f"must have at most {MAX_TEXT:,} characters"
    return None


def _number_problem(value: float) -> tuple[bool, str] | None:
    if isinstance(value, float) and not math.isfinite(value):
        return True, "must be a finite number"
    if abs(value) >= 10**MAX_DIGITS:
        return False, f"must have at most {MAX_DIGITS} digits before the decimal point"
    return None


def document_limits(rules: Any) -> tuple[list[Problem], list[Problem]]:
    """What a rules document holds beyond any rule, whatever its schema allows where a value may be
    anything (a condition's value): (unreadable, too large). Unreadable: a number not finite, a text a
    database cannot store, nesting deeper than ``MAX_DEPTH`` (named at the rule's field that nests).
    Too large: a number with more than ``MAX_DIGITS`` digits before the point, a text longer than
    ``MAX_TEXT``."""
    unreadable: list[Problem] = []
    too_large: list[Problem] = []
    stack: list[tuple[Any, str, int, str]] = [(rules, "", 0, "")]  # (value, path, depth, rule's field)
    while stack:
        value, path, depth, top = stack.pop()
        where = path or "(root)"
        found: tuple[bool, str] | None = None
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            found = _number_problem(value)
        elif isinstance(value, str):
            found = _text_problem(value)
        elif isinstance(value, dict | list) and depth >= MAX_DEPTH:
            found = (True, TOO_DEEP)
            where = top or where
        elif isinstance(value, dict | list):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children: list[tuple[Any, str, int, str]] = []
            for key, child in items:
                if isinstance(key, str):
                    key_problem = _text_problem(key)
                    if key_problem:
                        (unreadable if key_problem[0] else too_large).append(
                            {"path": where, "message": f"a key {key_problem[1]}"}
                        )
                        continue
                    child_path = f"{path}.{key}" if path else key
                else:
                    child_path = f"{path}[{key}]"
                # a rule's fields are where a person looks: rules[0].conditions
                child_top = top or (child_path if path.startswith("rules[") else "")
                children.append((child, child_path, depth + 1, child_top))
            stack.extend(reversed(children))
        if found:
            (unreadable if found[0] else too_large).append({"path": where, "message": found[1]})
    return _once(unreadable), _once(too_large)


def _once(problems: list[Problem]) -> list[Problem]:
    return [dict(p) for p in dict.fromkeys(tuple(p.items()) for p in problems)]


def check_rules(rules: Any) -> None:
    """Validate a rules document as it is stored: ``RulesError`` names each problem's path. What cannot
    be read comes alone (the schema would say it less clearly, or name every level of a nesting); then
    the schema's problems, a size beyond the limits where the schema names nothing, and a condition on a
    field the accrual does not fill yet (it would never match)."""
    unreadable, too_large = document_limits(rules)
    if unreadable:
        raise RulesError(unreadable)
    try:
        parse_rules(rules)
    except RulesError as exc:
        named = {e["path"] for e in exc.errors}
        raise RulesError(exc.errors + [p for p in too_large if p["path"] not in named]) from None
    if too_large:
        raise RulesError(too_large)
    text = json.dumps(rules)
    for name in UNFILLED_FIELDS:
        if f'"{name}"' in text:
            raise RulesError(
                [
                    {
                        "path": "rules",
                        "message": f"{name} is not available in conditions yet (it would never match)",
                    }
                ]
            )


def _clean_plan(values: dict[str, Any]) -> None:
    currency = str(values.get("currency", "USD"))
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise ValidationError({"currency": "A three-letter ISO 4217 code, upper case (USD, EUR)."})
    if values.get("selection", Selection.HIGHEST) not in Selection.values:
        raise ValidationError({"selection": f"One of {', '.join(Selection.values)}."})
    if Decimal(values.get("min_payout") or 0) < 0:
        raise ValidationError({"min_payout": "Not negative."})
    if not str(values.get("name", "x")).strip():
        raise ValidationError({"name": "A plan needs a name."})


@transaction.atomic
def plan_create(
    *,
    actor: Actor,
    name: str,
    currency: str,
    program: Any = None,
    hold_days: int = 30,
    min_payout: Decimal = Decimal(0),
    selection: str = Selection.HIGHEST,
    description: str = "",
) -> Plan:
    actor.require(Perm.COMMISSION_PLAN)
    values = dict(
        name=name.strip(),
        currency=currency,
        program=program,
        hold_days=hold_days,
        min_payout=min_payout,
        selection=selection,
        description=description,
    )
    _clean_plan(values)
    if Plan.objects.filter(name=values["name"]).exists():
        raise ValidationError({"name": "A plan with this name exists."})
    plan = Plan.objects.create(workspace_id=actor.workspace_id, **values)
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=plan, after=snapshot(plan))
    return plan


@transaction.atomic
def plan_update(*, actor: Actor, plan: Plan, **fields: Any) -> Plan:
    actor.require(Perm.COMMISSION_PLAN)
    unknown = set(fields) - {*PLAN_FIELDS, "archived"}
    if unknown:
        raise ValidationError(f"Unknown plan fields: {', '.join(sorted(unknown))}")
    before = snapshot(plan)
    archived = fields.pop("archived", None)
    frozen = [
        f
        for f in FROZEN_ONCE_PUBLISHED
        if f in fields and str(fields[f]) != str(getattr(plan, f)) and _latest_published(plan) is not None
    ]
    if frozen:  # published versions are read with these: changing them would re-price the past
        raise ValidationError(
            {
                f: f"The plan has a published version: its {f.replace('_', ' ')} cannot change "
                "(create a new plan instead)."
                for f in frozen
            }
        )
    for key, value in fields.items():
        setattr(plan, key, value)
    if archived is not None:
        plan.archived_at = timezone.now() if archived else None
    _clean_plan({f: getattr(plan, f) for f in ("name", "currency", "selection", "min_payout")})
    plan.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, instance=plan, before=before, after=snapshot(plan)
    )
    return plan


def _latest_published(plan: Plan) -> PlanVersion | None:
    return (
        plan.versions.filter(status=PlanVersion.Status.PUBLISHED)
        .order_by("-effective_from", "-number")
        .first()
    )


def _check_effective(plan: Plan, effective_from: datetime.date) -> None:
    latest = _latest_published(plan)
    if latest is not None and effective_from < latest.effective_from:
        raise ValidationError(
            {
                "effective_from": f"On or after {latest.effective_from.isoformat()}, when version "
                f"{latest.number} took effect: nothing earned under a published version changes."
            }
        )


@transaction.atomic
def version_create_draft(
    *, actor: Actor, plan: Plan, rules: dict[str, Any], effective_from: datetime.date, note: str = ""
) -> PlanVersion:
    """A new draft version (rules validated: ``RulesError`` names each problem's path)."""
    actor.require(Perm.COMMISSION_PLAN)
    check_rules(rules)
    _check_effective(plan, effective_from)
    Plan.objects.select_for_update().filter(pk=plan.pk).first()  # number versions one at a time
    number = (plan.versions.aggregate(n=Max("number"))["n"] or 0) + 1
    version = PlanVersion.objects.create(
        workspace_id=actor.workspace_id,
        plan=plan,
        number=number,
        rules=rules,
        effective_from=effective_from,
        note=note[:300],
        created_by_id=actor.user_id,
    )
    audit_record(actor=actor, action=AuditEntry.Action.CREATE, instance=version, after=snapshot(version))
    return version


@transaction.atomic
def version_update_draft(
    *,
    actor: Actor,
    version: PlanVersion,
    rules: dict[str, Any] | None = None,
    effective_from: datetime.date | None = None,
    note: str | None = None,
) -> PlanVersion:
    actor.require(Perm.COMMISSION_PLAN)
    if version.status != PlanVersion.Status.DRAFT:
        raise ValidationError("A published version never changes: create a new draft instead.")
    before = snapshot(version)
    if rules is not None:
        check_rules(rules)
        version.rules = rules
    if effective_from is not None:
        _check_effective(version.plan, effective_from)
        version.effective_from = effective_from
    if note is not None:
        version.note = note[:300]
    version.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, instance=version, before=before, after=snapshot(version)
    )
    return version


@transaction.atomic
def version_publish(*, actor: Actor, version: PlanVersion) -> PlanVersion:
    """Publish a draft: from its ``effective_from`` it is the version in force; it never changes again."""
    actor.require(Perm.COMMISSION_PLAN)
    version = PlanVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != PlanVersion.Status.DRAFT:
        raise ValidationError("This version is already published.")
    check_rules(version.rules)
    _check_effective(version.plan, version.effective_from)
    before = snapshot(version)
    version.status = PlanVersion.Status.PUBLISHED
    version.published_by_id = actor.user_id
    version.published_at = timezone.now()
    version.save()
    audit_record(
        actor=actor, action=AuditEntry.Action.UPDATE, instance=version, before=before, after=snapshot(version)
    )
    return version


@transaction.atomic
def assignment_create(
    *,
    actor: Actor,
    plan: Plan,
    level: str,
    target_id: int,
    starts_on: datetime.date,
    ends_on: datetime.date | None = None,
) -> PlanAssignment:
    """Assign a plan to a partner, a partner group (tag), a tier or a program. Precedence when several
    reach a partner: partner > group > tier > program."""
    actor.require(Perm.COMMISSION_PLAN)
    if level not in PlanAssignment.Level.values:
        raise ValidationError({"level": f"One of {', '.join(PlanAssignment.Level.values)}."})
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError({"ends_on": "Not before the start."})
    model = PlanAssignment._meta.get_field(level).related_model
    assert model is not None and not isinstance(model, str)
    with_scope = model._default_manager.filter(pk=target_id)  # scoped: another workspace's id is missing
    if not with_scope.exists():
        raise ValidationError({"target_id": f"No such {level}."})
    assignment = PlanAssignment.objects.create(
        workspace_id=actor.workspace_id,
        plan=plan,
        level=level,
        starts_on=starts_on,
        ends_on=ends_on,
        **{f"{level}_id": target_id},
    )
    audit_record(
        actor=actor, action=AuditEntry.Action.CREATE, instance=assignment, after=snapshot(assignment)
    )
    return assignment


@transaction.atomic
def assignment_end(*, actor: Actor, assignment: PlanAssignment, ends_on: datetime.date) -> PlanAssignment:
    actor.require(Perm.COMMISSION_PLAN)
    if ends_on < assignment.starts_on:
        raise ValidationError({"ends_on": "Not before the start."})
    before = snapshot(assignment)
    assignment.ends_on = ends_on
    assignment.save()
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=assignment,
        before=before,
        after=snapshot(assignment),
    )
    return assignment


@transaction.atomic
def subpartner_link(*, actor: Actor, parent: Partner, child: Partner, since: datetime.date) -> SubPartner:
    """Record that ``child`` was recruited by ``parent`` (overrides pay the parent a share from ``since``)."""
    actor.require(Perm.COMMISSION_PLAN)
    if parent.pk == child.pk:
        raise ValidationError("A partner cannot be its own sub-partner.")
    ancestor: int | None = parent.pk
    for _ in range(10):  # no cycles: the child is not above the parent
        row = SubPartner.objects.filter(child_id=ancestor, until__isnull=True).values_list(
            "parent_id", flat=True
        )
        ancestor = row.first()
        if ancestor is None:
            break
        if ancestor == child.pk:
            raise ValidationError("That would make a cycle of sub-partners.")
    SubPartner.objects.filter(child=child, until__isnull=True, since__lt=since).update(until=since)
    link = SubPartner.objects.create(workspace_id=actor.workspace_id, parent=parent, child=child, since=since)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=link,
        after=snapshot(link),
        partner_id=parent.pk,
    )
    return link
