"""Page forms of the partners app, one module per topic: they parse browser input into service input; the
services do the validation that matters."""

from openprm.partners.forms.agreements import AgreementForm
from openprm.partners.forms.contacts import ContactForm, InviteForm
from openprm.partners.forms.fields import DATE, split_list
from openprm.partners.forms.partners import (
    BulkForm,
    PartnerForm,
    SavedViewForm,
    TierChangeForm,
    partner_initial,
)
from openprm.partners.forms.programs import ProgramForm, TierForm
from openprm.partners.forms.reference import CustomFieldForm, PartnerTypeForm

__all__ = [
    "DATE",
    "AgreementForm",
    "BulkForm",
    "ContactForm",
    "CustomFieldForm",
    "InviteForm",
    "PartnerForm",
    "PartnerTypeForm",
    "ProgramForm",
    "SavedViewForm",
    "TierChangeForm",
    "TierForm",
    "partner_initial",
    "split_list",
]
