"""The form of the event types page (admins add a custom event type)."""

from __future__ import annotations

from django import forms


class EventTypeForm(forms.Form):
    """A custom event type of the workspace (its key is then accepted by the events API and CSV import)."""

    key = forms.CharField(
        max_length=60,
        help_text="Lower-case letters, digits and _, starting with a letter, e.g. webinar_attended",
        widget=forms.TextInput(attrs={"placeholder": "webinar_attended"}),
    )
    label = forms.CharField(max_length=120)
    contact = forms.BooleanField(
        required=False,
        label="Communication with the partner",
        help_text="Counts as contact (last contact, contact frequency)",
    )
    qualifying = forms.BooleanField(
        required=False,
        initial=True,
        label="Qualifying activity",
        help_text="Makes the partner active for the program's active-partner share",
    )
