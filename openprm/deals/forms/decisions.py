"""Staff decision forms on the deal page: approve with a note, reject, ask for information, move stage,
resolve a conflict. They parse browser input; the services validate what matters."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.deals.models import PipelineStage


class DecisionNoteForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False, label="Note to the partner (optional)")


class RejectForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        label="Reason (sent to the partner)",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Give the partner a reason for the rejection."},
    )


class InfoRequestForm(forms.Form):
    message = forms.CharField(
        max_length=2000,
        label="What do you need to know?",
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say what information you need."},
    )


class StageForm(forms.Form):
    stage = forms.ChoiceField(label="Stage")
    lost_reason = forms.CharField(max_length=300, required=False, label="Lost reason")

    def __init__(self, *args: Any, stages: list[PipelineStage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["stage"].choices = [(s.key, s.name) for s in stages]  # type: ignore[attr-defined]
        self.lost_keys = {s.key for s in stages if s.outcome == "lost"}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("stage") in self.lost_keys and not (data.get("lost_reason") or "").strip():
            self.add_error("lost_reason", "Say why the deal was lost.")
        return data


RESOLUTION_CHOICES = [
    ("approve_this", "Approve this & reject the other"),
    ("approve_other", "Approve the other & reject this"),
    ("co_sell", "Mark co-sell"),
    ("dismiss", "Not a conflict"),
]


class ConflictResolveForm(forms.Form):
    """Resolutions are relative to the deal whose page the form is on (``this``)."""

    resolution = forms.ChoiceField(choices=RESOLUTION_CHOICES)
    reason = forms.CharField(max_length=2000, required=False, label="Reason (sent to the rejected partner)")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (
            data.get("resolution") in ("approve_this", "approve_other")
            and not (data.get("reason") or "").strip()
        ):
            self.add_error("reason", "Give the rejected partner a reason.")
        return data
