"""The rule form: the rule's settings and up to three conditions, each a row of plain fields (no JSON to
type) — what each field means depends on the condition's kind (see ``ROW_HELP``)."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.alerts.conditions import KIND_LABELS, OPS
from openprm.alerts.models import INTERVALS, NoData, Severity
from openprm.metrics.catalog import METRICS, Unit
from openprm.metrics.kpis import FORMULAS

ROWS = 3
OPTIONS = [
    ("", "—"),
    ("drop-previous", "dropped vs previous period"),
    ("drop-baseline", "dropped vs own baseline"),
    ("rise-previous", "rose vs previous period"),
    ("rise-baseline", "rose vs own baseline"),
    ("pace", "pace behind"),
    ("attainment", "attainment behind"),
]
ROW_HELP = (
    "Number: the threshold (threshold), % behind (target) or % change (change). Days: the rolling window, "
    "the days of inactivity, of an agreement's notice, of a stall (0: each stage's own), or the hours a "
    "conflict waits."
)


def metric_choices() -> list[tuple[str, str]]:
    keys = sorted(k for k in METRICS if k in FORMULAS)
    return [("", "—")] + [(k, f"{METRICS[k].label} ({k})") for k in keys]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    enabled = forms.BooleanField(required=False, initial=True)
    severity = forms.ChoiceField(choices=Severity.choices, initial=Severity.WARNING)
    combine = forms.ChoiceField(choices=[("and", "All conditions (AND)"), ("or", "Any condition (OR)")])
    interval_minutes = forms.TypedChoiceField(
        coerce=int, choices=[(m, f"every {m} min") for m in INTERVALS], initial=5, label="Evaluate"
    )
    for_minutes = forms.IntegerField(min_value=0, initial=0, label="Pending for (minutes)")
    repeat_minutes = forms.IntegerField(min_value=0, initial=0, label="Remind every (minutes, 0: never)")
    keep_firing_minutes = forms.IntegerField(
        required=False,
        min_value=0,
        initial=0,
        label="Keep firing for (minutes)",
        help_text="Recovering: a firing alert whose condition clears resolves only after this; 0: at once",
    )
    no_data = forms.ChoiceField(choices=NoData.choices, initial=NoData.OK, label="When there is no data")
    program = forms.ChoiceField(required=False, choices=[("", "All")])
    tier = forms.ChoiceField(required=False, choices=[("", "All")])
    type = forms.ChoiceField(required=False, choices=[("", "All")], label="Partner type")
    region = forms.CharField(required=False)
    tag = forms.ChoiceField(required=False, choices=[("", "Any")])
    recipients = forms.CharField(
        required=False, initial="admin, manager", help_text="Staff roles or user ids, comma-separated"
    )
    tell_partner = forms.BooleanField(
        required=False,
        label="Also tell the partner's own users",
        help_text="In-app and by e-mail per their preferences; their own figures only",
    )
    inhibits = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Inhibits",
        help_text="While this rule fires for a partner, these rules' alerts for that partner are inhibited: "
        "shown as such, announced to no one",
    )

    def __init__(
        self,
        *args: Any,
        reference: dict[str, Any] | None = None,
        rules: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        """``reference``: the workspace's programs, tiers, types and tags (``partners`` reference data),
        offered as choices for the partner set; ``rules``: the other rules (public id, name) it may
        inhibit."""
        super().__init__(*args, **kwargs)
        inhibits = self.fields["inhibits"]
        assert isinstance(inhibits, forms.MultipleChoiceField)
        inhibits.choices = rules or []
        ref = reference or {}
        choice_fields: dict[str, list[tuple[str, str]]] = {
            "program": [(str(p.public_id), p.name) for p in ref.get("programs", [])],
            "tier": [(str(t.public_id), f"{t.program.name} · {t.name}") for t in ref.get("tiers", [])],
            "type": [(t.key, t.label) for t in ref.get("types", [])],
            "tag": [(t.name, t.name) for t in ref.get("tags", [])],
        }
        for name, choices in choice_fields.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", "Any" if name == "tag" else "All"), *choices]
        metrics = metric_choices()
        for i in range(ROWS):
            self.fields[f"kind_{i}"] = forms.ChoiceField(
                required=False, choices=[("", "—"), *list(KIND_LABELS.items())], label="Kind"
            )
            self.fields[f"metric_{i}"] = forms.ChoiceField(required=False, choices=metrics, label="Metric")
            self.fields[f"grain_{i}"] = forms.ChoiceField(
                required=False,
                choices=[(g, g) for g in ("month", "quarter", "year", "rolling")],
                label="Period",
            )
            self.fields[f"op_{i}"] = forms.ChoiceField(
                required=False, choices=[(o, o) for o in OPS], label="Op"
            )
            self.fields[f"number_{i}"] = forms.DecimalField(required=False, label="Number")
            self.fields[f"days_{i}"] = forms.IntegerField(required=False, min_value=0, label="Days / hours")
            self.fields[f"option_{i}"] = forms.ChoiceField(required=False, choices=OPTIONS, label="How")

    def rows(self) -> list[list[forms.BoundField]]:
        names = ("kind", "metric", "grain", "op", "number", "days", "option")
        return [[self[f"{n}_{i}"] for n in names] for i in range(ROWS)]

    def to_data(self) -> dict[str, Any]:
        """The service's input from the cleaned form."""
        d = self.cleaned_data
        items = [item for i in range(ROWS) if (item := _item(d, i))]
        recipients = [r.strip() for r in (d.get("recipients") or "").split(",") if r.strip()]
        return {
            "name": d["name"],
            "description": d.get("description", ""),
            "enabled": d.get("enabled", False),
            "severity": d["severity"],
            "interval_minutes": d["interval_minutes"],
            "for_minutes": d["for_minutes"],
            "repeat_minutes": d["repeat_minutes"],
            "keep_firing_minutes": d.get("keep_firing_minutes") or 0,
            "inhibits": list(d.get("inhibits") or []),
            "no_data": d["no_data"],
            "conditions": {"combine": d["combine"], "items": items},
            "partner_filters": {k: d[k] for k in ("program", "tier", "type", "region", "tag") if d.get(k)},
            "recipients": recipients,
            "tell_partner": d.get("tell_partner", False),
        }

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Service errors onto the fields they name (``conditions.items.0.metric`` → ``metric_0``)."""
        for field, messages in errors.items():
            parts = field.split(".")
            target: str | None = field if field in self.fields else None
            if parts[:2] == ["conditions", "items"] and len(parts) >= 3 and parts[2].isdigit():
                name = {"value": "number", "percent": "number", "behind_percent": "number"}.get(
                    parts[-1], parts[-1]
                )
                name = "days" if name in ("hours", "baseline_periods") else name
                candidate = f"{name}_{parts[2]}"
                target = candidate if candidate in self.fields else f"kind_{parts[2]}"
            elif field == "partner_filters":
                target = None
            for text in messages:
                self.add_error(target if target in self.fields else None, f"{field}: {text}")


def _item(d: dict[str, Any], i: int) -> dict[str, Any] | None:
    kind = d.get(f"kind_{i}")
    if not kind:
        return None
    metric, grain, days = d.get(f"metric_{i}") or "", d.get(f"grain_{i}") or "month", d.get(f"days_{i}")
    number, option = d.get(f"number_{i}"), d.get(f"option_{i}") or ""
    item: dict[str, Any] = {"kind": kind}
    if kind in ("threshold", "change", "target", "inactivity"):
        item["metric"] = metric
    if kind in ("threshold", "change"):
        item["grain"] = grain
        if days:
            item["days"] = days
    if kind == "threshold":
        item |= {"op": d.get(f"op_{i}") or "<", "value": str(number) if number is not None else None}
    elif kind == "change":
        direction, _, against = (option if "-" in option else "drop-previous").partition("-")
        item |= {"direction": direction, "against": against, "percent": str(number) if number else None}
    elif kind == "target":
        item |= {"measure": option if option in ("pace", "attainment") else "pace"}
        item |= {"behind_percent": str(number) if number is not None else None}
        item["grain"] = grain if grain != "rolling" else "month"
    elif kind in ("inactivity", "agreement_expiring", "deal_stalled") and days is not None:
        item["days"] = days
    elif kind == "conflict_waiting" and days is not None:
        item["hours"] = days
    if kind == "inactivity" and not metric:
        item["metric"] = "last_contact"
    return item


def initial_of(rule: Any) -> dict[str, Any]:
    """The form's initial values for an existing rule."""
    conds = rule.conditions or {}
    data: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enabled": rule.enabled,
        "severity": rule.severity,
        "combine": conds.get("combine", "and"),
        "interval_minutes": rule.interval_minutes,
        "for_minutes": rule.for_minutes,
        "repeat_minutes": rule.repeat_minutes,
        "keep_firing_minutes": rule.keep_firing_minutes,
        "inhibits": [str(r.public_id) for r in rule.inhibits.all()],
        "no_data": rule.no_data,
        "recipients": ", ".join(rule.recipients or []),
        "tell_partner": rule.tell_partner,
        **{k: v for k, v in (rule.partner_filters or {}).items()},
    }
    for i, item in enumerate(conds.get("items", [])[:ROWS]):
        kind = item.get("kind")
        data[f"kind_{i}"] = kind
        data[f"metric_{i}"] = item.get("metric", "")
        data[f"grain_{i}"] = item.get("grain", "month")
        data[f"op_{i}"] = item.get("op", "<")
        data[f"number_{i}"] = item.get("value") or item.get("percent") or item.get("behind_percent")
        data[f"days_{i}"] = item.get("hours") if kind == "conflict_waiting" else item.get("days")
        if kind == "change":
            data[f"option_{i}"] = f"{item.get('direction', 'drop')}-{item.get('against', 'previous')}"
        elif kind == "target":
            data[f"option_{i}"] = item.get("measure", "pace")
    return data


def unit_of(key: str) -> Unit | None:
    entry = METRICS.get(key)
    return entry.unit if entry else None
