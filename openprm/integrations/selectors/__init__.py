"""Reads of the integrations: what the exports stream."""

from openprm.integrations.selectors.exports import partner_export

__all__ = ["partner_export"]
