"""Page forms for referral tracking (links, coupons, allowed hosts): browser input into service input."""

from __future__ import annotations

from typing import Any

from django import forms

from openprm.activity.services.referrals import CouponInput, LinkInput

Choices = list[tuple[str, str]]


class _OwnedForm(forms.Form):
    """A form for something a partner owns: the partner (staff creating) and program choices come first,
    as (public id, name) pairs, when given."""

    owned = ""  # what the program's help text calls the thing

    def __init__(
        self,
        *args: Any,
        partners: Choices | None = None,
        programs: Choices | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        extra: dict[str, forms.Field] = {}
        if partners is not None:
            extra["partner"] = forms.ChoiceField(choices=[("", "—"), *partners], label="Partner")
        if programs is not None:
            extra["program"] = forms.ChoiceField(
                choices=[("", "—"), *programs],
                required=False,
                label="Program",
                help_text=f"The program whose attribution rules apply to this {self.owned}",
            )
        self.fields = {**extra, **self.fields}


class LinkForm(_OwnedForm):
    """A tracking link: where it leads and how the visit is labelled (UTM parameters)."""

    owned = "link"
    destination = forms.URLField(
        max_length=2000,
        label="Destination",
        assume_scheme="https",
        widget=forms.URLInput(attrs={"placeholder": "https://www.example.com/pricing"}),
    )
    code = forms.CharField(
        max_length=64, required=False, label="Code", help_text="Left empty: 8 generated characters"
    )
    campaign = forms.CharField(max_length=120, required=False)
    utm_source = forms.CharField(max_length=120, required=False, label="utm_source")
    utm_medium = forms.CharField(max_length=120, required=False, label="utm_medium")
    utm_campaign = forms.CharField(max_length=120, required=False, label="utm_campaign")

    def to_input(self) -> LinkInput:
        data = self.cleaned_data
        out: LinkInput = {
            "destination": data["destination"],
            "campaign": data["campaign"],
            "utm_source": data["utm_source"],
            "utm_medium": data["utm_medium"],
            "utm_campaign": data["utm_campaign"],
        }
        if data.get("code"):
            out["code"] = data["code"]
        return out


class LinkEditForm(LinkForm):
    """Staff editing a link: the same fields (the partner stays), the code kept unless changed, and
    whether ``/r/<code>`` still redirects."""

    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="Inactive links show a 'deactivated' page (410) and record no clicks",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["code"].required = True
        self.fields["code"].help_text = "Changing it breaks the links already shared"

    def to_input(self) -> LinkInput:
        out = super().to_input()
        out["is_active"] = self.cleaned_data["is_active"]
        return out


class CouponForm(_OwnedForm):
    """A partner's coupon code (stored upper-case, unique in the workspace)."""

    owned = "coupon"
    code = forms.CharField(max_length=64, help_text="2-64 letters, digits, '-' or '_'; stored upper-case")
    description = forms.CharField(max_length=200, required=False)

    def to_input(self) -> CouponInput:
        return {"code": self.cleaned_data["code"], "description": self.cleaned_data["description"]}


class CouponEditForm(CouponForm):
    is_active = forms.BooleanField(
        required=False,
        label="Active",
        help_text="Partners see only their active codes; a conversion with an inactive one is flagged",
    )

    def to_input(self) -> CouponInput:
        out = super().to_input()
        out["is_active"] = self.cleaned_data["is_active"]
        return out


class TrackingHostsForm(forms.Form):
    """Admins: the hosts tracking links may lead to (one per line or comma-separated; subdomains of a
    host are allowed too). For a program, empty means the workspace's hosts apply."""

    hosts = forms.CharField(
        required=False,
        max_length=10_000,
        label="Allowed hosts",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "www.example.com\nshop.example.com"}),
        help_text="One host per line (no https://, no path). A host also allows its subdomains.",
    )
