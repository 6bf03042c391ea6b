"""The partner's last contact, for partner lists and the partner page (registered with the partners app
in ``ActivityConfig.ready``: partners sits below activity and cannot import it).

The engagement metrics themselves are read in ``metrics.selectors``.
"""

from __future__ import annotations

from openprm.activity.rollups.read import last_contact_subquery

__all__ = ["last_contact_subquery"]
