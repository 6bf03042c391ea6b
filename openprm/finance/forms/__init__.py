"""The finance pages' forms, one module per topic: ``records`` (a form per kind of record)."""

from openprm.finance.forms.records import FORMS, record_initial

__all__ = ["FORMS", "record_initial"]
