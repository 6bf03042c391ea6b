from __future__ import annotations

from django import forms


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8, with a header row. Nothing is imported until you confirm the preview.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ImportConfirmForm(forms.Form):
    skip_invalid = forms.BooleanField(required=False, label="Skip the bad rows and import the valid ones")


class DealImportOptionsForm(forms.Form):
    """How to read a deals file; carried from the upload to the preview and the confirmation."""

    format = forms.ChoiceField(
        required=False,
        choices=[
            ("canonical", "Canonical (OpenPRM deals CSV)"),
            ("hubspot", "HubSpot deals export"),
            ("salesforce", "Salesforce opportunity report"),
        ],
        initial="canonical",
    )
    partner = forms.CharField(
        required=False,
        max_length=200,
        label="Partner",
        help_text="External id or name of the partner the deals belong to, when the file has no partner "
        "column (or for its blank cells).",
    )
    partner_column = forms.CharField(
        required=False,
        max_length=200,
        label="Partner column",
        help_text="The column holding partner external ids or names, if not partner_external_id.",
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        data["format"] = data.get("format") or "canonical"
        for key in ("partner", "partner_column"):
            value = str(data.get(key) or "")
            if "\x00" in value:
                self.add_error(key, "Contains a NUL character.")
            data[key] = value.strip()
        return data


class DealImportUploadForm(ImportUploadForm, DealImportOptionsForm):
    field_order = ["format", "file", "partner", "partner_column"]
