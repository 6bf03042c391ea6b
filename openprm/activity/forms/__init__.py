"""Page forms of the activity app, one module per topic: they parse browser input into service input.

The names are re-exported here, so ``from openprm.activity.forms import LinkForm`` works for any of them."""

from openprm.activity.forms.events import EventTypeForm
from openprm.activity.forms.interactions import InteractionForm
from openprm.activity.forms.referrals import (
    CouponEditForm,
    CouponForm,
    LinkEditForm,
    LinkForm,
    TrackingHostsForm,
)

__all__ = [
    "CouponEditForm",
    "CouponForm",
    "EventTypeForm",
    "InteractionForm",
    "LinkEditForm",
    "LinkForm",
    "TrackingHostsForm",
]
