"""The structured editor of a draft version's rules: the same document as the JSON editor, as a form.

The editor's *state* is plain data of strings (what the inputs show); three functions move between it
and the rules document:

- :func:`state_of_doc` — a valid document → the state the form shows. A rule the form cannot show exactly
  (conditions nested deeper than one group, a value typed unlike its field, …) stays a JSON block inside
  the form, with the reason, and is kept exactly as written.
- :func:`state_of_post` — the posted inputs → the state (indices may have gaps: rows removed in the page).
- :func:`doc_of_state` — the state → the document, validated as the service stores it
  (``services.plans.check_rules``: the pydantic models of ``rules.py`` and the limits of a stored
  document); each problem is attached to its input and named for a person:
  "Rule 2 (resale), tier 3, from: must be above 50,000 (where tier 2 starts)".

:func:`apply_op` performs the row buttons (add a rule, a condition, a group, a tier; remove; move), which
post the form without saving, so the editor works without JavaScript.

The modules: ``values`` (typed values ↔ what the inputs show), ``read`` (document or post → state),
``build`` (one rule's state → its JSON, traced to its inputs), ``problems`` (the document, validated,
with each problem at its input), ``page`` (row buttons, choices, the template's rows).
"""

from __future__ import annotations

from openprm.commissions.forms.rule_editor.build import blank_rule
from openprm.commissions.forms.rule_editor.page import apply_op, choices, rows_for_template
from openprm.commissions.forms.rule_editor.problems import add_service_errors, doc_of_state
from openprm.commissions.forms.rule_editor.read import state_of_doc, state_of_post
from openprm.commissions.forms.rule_editor.values import (
    BOOL_FIELDS,
    FORM_FIELDS,
    LIST_OPS,
    NUMERIC_FIELDS,
    PERIODS,
    REWARDS,
    State,
    condition_value,
    value_text,
)

__all__ = [
    "BOOL_FIELDS",
    "FORM_FIELDS",
    "LIST_OPS",
    "NUMERIC_FIELDS",
    "PERIODS",
    "REWARDS",
    "State",
    "add_service_errors",
    "apply_op",
    "blank_rule",
    "choices",
    "condition_value",
    "doc_of_state",
    "rows_for_template",
    "state_of_doc",
    "state_of_post",
    "value_text",
]
