"""Page forms of the deals app, one module per topic: ``registration`` (the portal's register/edit form),
``decisions`` (the staff deal page), ``products`` (the catalog page)."""

from openprm.deals.forms.decisions import (
    RESOLUTION_CHOICES,
    ConflictResolveForm,
    DecisionNoteForm,
    InfoRequestForm,
    RejectForm,
    StageForm,
)
from openprm.deals.forms.products import ProductForm, product_initial
from openprm.deals.forms.registration import RegistrationForm, registration_initial

__all__ = [
    "RESOLUTION_CHOICES",
    "ConflictResolveForm",
    "DecisionNoteForm",
    "InfoRequestForm",
    "ProductForm",
    "RegistrationForm",
    "RejectForm",
    "StageForm",
    "product_initial",
    "registration_initial",
]
