"""The finance pages' forms, one module per topic: ``records`` (a form per kind of record) and ``fx``
(a rate entered by hand)."""

from openprm.finance.forms.fx import FxRateForm
from openprm.finance.forms.records import FORMS, record_initial

__all__ = ["FORMS", "FxRateForm", "record_initial"]
