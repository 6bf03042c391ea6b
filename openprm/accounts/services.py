from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from openprm.accounts.models import ApiToken, Membership, Notification, RateLimitHit, User
from openprm.core.actors import Actor
from openprm.core.audit import audit_record, snapshot
from openprm.core.models import AuditEntry, OutboxMessage, Workspace
from openprm.core.outbox import outbox_put
from openprm.core.permissions import PARTNER_ROLES, STAFF_ROLES, Perm, Role
from openprm.core.scoping import unscoped

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "prm_"


def workspace_default() -> Workspace:
    workspace, _ = Workspace.objects.get_or_create(slug="default", defaults={"name": "Default workspace"})
    return workspace


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


TOKEN_MAX_DAYS = 3650


def token_create(
    *, actor: Actor, name: str, expires_days: int | None = None, read_only: bool = False
) -> tuple[ApiToken, str]:
    """Create a personal API token for the actor; returns the token and its one-time plain text.

    ``expires_days``: the token stops working that many days from now (None: never). ``read_only``: the
    token may only send GET, HEAD and OPTIONS requests.
    """
    if actor.user_id is None:
        raise PermissionDenied("Only a user can own an API token")
    actor.require(Perm.API_TOKENS)
    name = name.strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the token a name of 1–100 characters."})
    if expires_days is not None and not 1 <= expires_days <= TOKEN_MAX_DAYS:
        raise ValidationError(
            {"expires_days": f"Expiry must be between 1 and {TOKEN_MAX_DAYS} days (or empty: never)."}
        )
    secret = secrets.token_hex(32)  # hex: the prefix never starts with "-", safe to pass on a command line
    prefix = secret[:8]
    raw = f"{TOKEN_PREFIX}{secret}"
    token = ApiToken.objects.create(
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        name=name,
        prefix=prefix,
        digest=_hash_token(raw),
        expires_at=timezone.now() + timedelta(days=expires_days) if expires_days else None,
        read_only=read_only,
    )
    return token, raw


def token_revoke(*, actor: Actor, token: ApiToken) -> None:
    if token.user_id != actor.user_id and actor.role != Role.ADMIN:
        raise PermissionDenied("Not your token")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token matching ``raw`` (its user active), or None. Marks it used at most once a minute."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=_hash_token(raw), revoked_at__isnull=True, user__is_active=True)
        .exclude(expires_at__lte=now)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def token_expired_at(raw: str) -> datetime | None:
    """When the otherwise live token ``raw`` expired (None if it is not an expired token)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    return (
        ApiToken.objects.filter(
            digest=_hash_token(raw),
            revoked_at__isnull=True,
            user__is_active=True,
            expires_at__lte=timezone.now(),
        )
        .values_list("expires_at", flat=True)
        .first()
    )


def _validate_role(role: str, partner_id: int | None) -> None:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role '{role}'. Choose one of: {', '.join(Role.values)}."})
    if partner_id is None and role in PARTNER_ROLES:
        raise ValidationError({"role": "Partner roles need a partner."})
    if partner_id is not None and role in STAFF_ROLES:
        raise ValidationError({"role": "Partner users can only have a partner role."})


@transaction.atomic
def user_create(
    *,
    actor: Actor,
    email: str,
    role: str,
    full_name: str = "",
    partner_id: int | None = None,
    password: str | None = None,
    owned_only: bool = False,
) -> Membership:
    """Create a user (or reuse one with that e-mail) and give them a membership in the actor's workspace."""
    if partner_id is None:
        actor.require(Perm.WORKSPACE_ADMIN)
    elif actor.is_partner_user:
        actor.require(Perm.PORTAL_TEAM)
        if partner_id != actor.partner_id:
            raise PermissionDenied("Partner admins manage only their own team")
    else:
        actor.require(Perm.PORTAL_INVITE)
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": "Enter a valid e-mail address."}) from None
    _validate_role(role, partner_id)
    user = User.objects.filter(email=email).first()
    if user is not None:
        with unscoped():  # the actor's scope may not see the other membership; the constraint would
            existing = Membership.objects.filter(workspace_id=actor.workspace_id, user=user).first()
        if existing is not None:
            if actor.is_partner_user and existing.partner_id != actor.partner_id:
                raise InviteRefused(user=user, existing=existing)
            raise ValidationError({"email": "This person already has an account in this workspace."})
    if user is None:
        user = User(email=email, full_name=full_name.strip()[:200])
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    membership = Membership.objects.create(
        workspace_id=actor.workspace_id,
        user=user,
        role=role,
        partner_id=partner_id,
        owned_only=owned_only,
    )
    audit_record(
        actor=actor,
        action=AuditEntry.Action.CREATE,
        instance=membership,
        after=snapshot(membership, {"email": user.email}),
        partner_id=partner_id,
    )
    return membership


class InviteRefused(Exception):
    """A partner user named an address that belongs to someone outside their partner (see user_invite)."""

    def __init__(self, *, user: User, existing: Membership) -> None:
        super().__init__(user.email)
        self.user = user
        self.existing = existing


def _invite_refused(*, actor: Actor, refused: InviteRefused, role: str, partner_id: int | None) -> Membership:
    """Record a refused partner invitation and answer exactly as for a new address.

    The existing person is NOT attached to the inviting partner. Workspace admins get an in-app notice,
    the address's owner an e-mail without any link, and the caller a stand-in membership (never saved)
    so that the page shows the same "invited" message as for a new address: a partner cannot learn
    whether an address has an account elsewhere in the workspace.
    """
    with unscoped():  # the partner's name through a membership (accounts sits below partners)
        partner_label = (
            Membership.objects.filter(workspace_id=actor.workspace_id, partner_id=partner_id or 0)
            .values_list("partner__name", flat=True)
            .first()
        ) or "a partner"
    logger.warning(
        "Refused portal invitation of an existing account by %s (partner %s)", actor.label, partner_id
    )
    with unscoped():
        admin_ids = list(
            Membership.objects.filter(
                workspace_id=actor.workspace_id, role=Role.ADMIN, partner__isnull=True, is_active=True
            ).values_list("user_id", flat=True)
        )
    Notification.objects.bulk_create(
        Notification(
            workspace_id=actor.workspace_id,
            user_id=user_id,
            title="Refused portal invitation",
            body=(
                f"{actor.label} ({partner_label}) tried to invite {refused.user.email} as {role}. "
                "That address already has an account in this workspace, so it was not added to the "
                "partner's team. The partner was shown the usual confirmation."
            ),
            link=reverse("users"),
        )
        for user_id in admin_ids
    )
    email = refused.user.email
    _email_put(
        workspace_id=actor.workspace_id,
        kind="invitation_refused",
        to=email,
        invited_by=actor.label,
        partner=partner_label,
    )
    stand_in = User(email=email)
    return Membership(workspace_id=actor.workspace_id, user=stand_in, role=role, partner_id=partner_id)


@transaction.atomic
def user_invite(
    *,
    actor: Actor,
    email: str,
    role: str,
    base_url: str,
    full_name: str = "",
    partner_id: int | None = None,
    owned_only: bool = False,
) -> Membership:
    """Create the user's membership and e-mail them a link to choose a password (through the outbox:
    sent once the membership is committed, retried while the mail server is away).

    A partner user inviting an address that already belongs to someone else in the workspace gets the
    same answer as for a new address, and nothing changes for that person (see ``_invite_refused``).
    """
    try:
        membership = user_create(
            actor=actor,
            email=email,
            role=role,
            full_name=full_name,
            partner_id=partner_id,
            owned_only=owned_only,
        )
    except InviteRefused as refused:
        return _invite_refused(actor=actor, refused=refused, role=role, partner_id=partner_id)
    _email_put(
        workspace_id=actor.workspace_id,
        kind="invitation",
        user_id=membership.user_id,
        base_url=base_url,
        invited_by=actor.label,
    )
    return membership


def _active_admin_count(workspace_id: int) -> int:
    with unscoped():
        return Membership.objects.filter(
            workspace_id=workspace_id,
            role=Role.ADMIN,
            partner__isnull=True,
            is_active=True,
            user__is_active=True,
        ).count()


@transaction.atomic
def membership_update(
    *, actor: Actor, membership: Membership, role: str | None = None, is_active: bool | None = None
) -> Membership:
    """Change a member's role and/or switch their access off or on (audited).

    Staff memberships (admins only): switching one off also deactivates the user, so log-in is refused,
    their API tokens stop working and their open sessions end at the next request; switching it on
    restores all three. The workspace always keeps at least one active admin: an admin may demote or
    deactivate themselves only while another active admin remains. Partner users cannot change their
    own access.
    """
    staff = membership.partner_id is None
    if staff:
        actor.require(Perm.WORKSPACE_ADMIN)
    elif actor.is_partner_user:
        actor.require(Perm.PORTAL_TEAM)
    else:
        actor.require(Perm.PORTAL_INVITE)
    if membership.user_id == actor.user_id and not staff:
        raise ValidationError({"role": "You cannot change your own access."})
    if role is not None:
        _validate_role(role, membership.partner_id)
    was_admin = membership.role == Role.ADMIN and membership.is_active and membership.user.is_active
    stays_admin = (role or membership.role) == Role.ADMIN and (
        is_active if is_active is not None else membership.is_active
    )
    if staff and was_admin and not stays_admin and _active_admin_count(membership.workspace_id) <= 1:
        field = "is_active" if role in (None, Role.ADMIN) else "role"
        raise ValidationError({field: "This is the last active admin: make someone else an admin first."})
    before = snapshot(membership, {"user_active": membership.user.is_active})
    if role is not None:
        membership.role = role
    if is_active is not None:
        membership.is_active = is_active
    membership.save()
    user = membership.user
    if staff and is_active is not None and user.is_active != is_active:
        with unscoped():
            elsewhere = (
                Membership.objects.filter(user=user, is_active=True).exclude(pk=membership.pk).exists()
            )
        if is_active or not elsewhere:
            user.is_active = is_active
            user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action=AuditEntry.Action.UPDATE,
        instance=membership,
        before=before,
        after=snapshot(membership, {"user_active": user.is_active}),
        partner_id=membership.partner_id,
    )
    return membership


# --- e-mails (through the outbox) -----------------------------------------------------------------------

EMAIL = "email"  # the outbox topic of account e-mails; ``accounts.tasks`` registers ``email_send`` for it


def _email_put(*, workspace_id: int, kind: str, **payload: Any) -> None:
    """Announce an e-mail in the current transaction: the payload names what to send (ids and labels),
    the mail itself is built when it is sent (a password link is minted then, never stored)."""
    outbox_put(workspace_id=workspace_id, topic=EMAIL, payload={"kind": kind, **payload})


def email_send(message: OutboxMessage) -> None:
    """Send an account e-mail from the outbox (the ``email`` topic's handler)."""
    payload = message.payload
    if payload["kind"] == "invitation":
        user = User.objects.filter(pk=payload["user_id"]).first()
        if user is None:  # deleted since it was invited: nobody to write to
            logger.info("Invitation e-mail of a deleted user %s not sent", payload["user_id"])
            return
        password_set_email_send(user=user, base_url=payload["base_url"], invited_by=payload["invited_by"])
    elif payload["kind"] == "invitation_refused":
        send_mail(
            subject="An invitation to OpenPRM was not applied",
            message=render_to_string(
                "accounts/email/invitation_refused.txt",
                {"email": payload["to"], "invited_by": payload["invited_by"], "partner": payload["partner"]},
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[payload["to"]],
        )
    else:
        raise ValueError(f"Unknown account e-mail {payload['kind']!r}")


def password_set_email_send(*, user: User, base_url: str, invited_by: str | None = None) -> None:
    """E-mail a one-time link to choose a password (used for invitations)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = base_url.rstrip("/") + reverse("password_reset_confirm", args=[uid, token])
    context = {"user": user, "link": link, "invited_by": invited_by}
    send_mail(
        subject="You have been invited to OpenPRM",
        message=render_to_string("accounts/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[user.email],
    )


def rate_limit_hit(*, key: str, limit: int, window: timedelta) -> bool:
    """Count one attempt under ``key``; False when ``limit`` attempts were already made within ``window``.

    Stored in the database, so the limit holds across every server process. Refused attempts are not
    counted (a blocked client cannot extend its own block); old rows are pruned as new ones arrive.
    """
    now = timezone.now()
    with transaction.atomic():
        RateLimitHit.objects.filter(created_at__lt=now - RATE_LIMIT_KEEP).delete()
        if RateLimitHit.objects.filter(key=key[:200], created_at__gte=now - window).count() >= limit:
            return False
        RateLimitHit.objects.create(key=key[:200], created_at=now)
    return True


RATE_LIMIT_KEEP = timedelta(days=1)


def password_reset_allowed(*, email: str, client_ip: str | None) -> bool:
    """Whether a password-reset mail may go out now: at most PRM_RESET_PER_ADDRESS per address and
    PRM_RESET_PER_CLIENT per client address, each per hour. The page answers the same either way."""
    hour = timedelta(hours=1)
    email = email.strip().lower()
    if client_ip and not rate_limit_hit(
        key=f"password-reset:ip:{client_ip}", limit=settings.PRM_RESET_PER_CLIENT, window=hour
    ):
        logger.warning("Password-reset mails throttled for client %s", client_ip)
        return False
    if not rate_limit_hit(
        key=f"password-reset:email:{email}", limit=settings.PRM_RESET_PER_ADDRESS, window=hour
    ):
        logger.warning("Password-reset mails throttled for an address")
        return False
    return True


def login_lockout_clear(*, user: User) -> None:
    """Forget the failed log-ins of ``user`` (every client address): their password was just reset."""
    from axes.utils import reset

    reset(username=user.email)
