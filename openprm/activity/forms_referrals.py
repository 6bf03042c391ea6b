"""Compatibility alias, only while ``openprm/portal/views.py`` still imports ``LinkForm`` from here: the
referral forms live in ``openprm.activity.forms.referrals``. Delete this module once that import reads
``from openprm.activity.forms import LinkForm``."""

from openprm.activity.forms.referrals import LinkForm

__all__ = ["LinkForm"]
