"""Writes for referral tracking, one module per topic: tracking ``links``, ``coupons``, the allowed
destination ``hosts`` and ``clicks`` (the ``/r/<code>`` redirect). Conversions, which these links and
coupons attribute, are in ``services.conversions``.

Every public name is re-exported here: callers write ``from openprm.activity.services import referrals``
and ``referrals.link_create(...)``."""

from openprm.activity.services.referrals.clicks import (
    RecordedClick,
    RedirectLink,
    click_record,
    destination_url,
    ip_hash,
    link_active,
    link_state,
)
from openprm.activity.services.referrals.coupons import (
    COUPON_CODE,
    CouponInput,
    coupon_create,
    coupon_update,
)
from openprm.activity.services.referrals.hosts import (
    MAX_HOSTS,
    NO_HOSTS_PARTNER,
    NO_HOSTS_STAFF,
    host_normalize,
    hosts_normalize,
    require_allowed_destination,
    tracking_hosts_set,
)
from openprm.activity.services.referrals.links import (
    CODE_ALPHABET,
    GENERATED_CODE_LENGTH,
    LINK_CODE,
    UTM_FIELDS,
    LinkInput,
    generate_code,
    link_create,
    link_update,
)

__all__ = [
    "CODE_ALPHABET",
    "COUPON_CODE",
    "GENERATED_CODE_LENGTH",
    "LINK_CODE",
    "MAX_HOSTS",
    "NO_HOSTS_PARTNER",
    "NO_HOSTS_STAFF",
    "UTM_FIELDS",
    "CouponInput",
    "LinkInput",
    "RecordedClick",
    "RedirectLink",
    "click_record",
    "coupon_create",
    "coupon_update",
    "destination_url",
    "generate_code",
    "host_normalize",
    "hosts_normalize",
    "ip_hash",
    "link_active",
    "link_create",
    "link_state",
    "link_update",
    "require_allowed_destination",
    "tracking_hosts_set",
]
