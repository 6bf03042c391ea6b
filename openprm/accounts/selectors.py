from __future__ import annotations

from django.db.models import QuerySet

from openprm.accounts.models import ApiToken, Membership, User
from openprm.core.actors import Actor
from openprm.core.permissions import Perm
from openprm.core.scoping import unscoped


def actor_for_user(user: User) -> Actor | None:
    """The user's active membership as an Actor (the first workspace they belong to)."""
    if not user.is_active:
        return None
    with unscoped():
        membership = Membership.objects.filter(user=user, is_active=True).order_by("created_at", "id").first()
    if membership is None:
        return None
    return Actor(
        workspace_id=membership.workspace_id,
        role=membership.role,
        user_id=user.pk,
        label=user.email,
        partner_id=membership.partner_id,
        owned_only=membership.owned_only,
    )


def actor_for_email(email: str) -> Actor | None:
    """The actor of the active user with this e-mail (case and surrounding spaces ignored), as
    ``actor_for_user``; None when there is no such user or they have no active membership. The command
    line's "act as this user" (``--email``)."""
    user = User.objects.filter(email=email.strip().lower()).first()
    return actor_for_user(user) if user is not None else None


def archived_partner_of(user: User) -> str:
    """The name of the archived partner whose portal login this user had ("" if none): its archiving
    suspended the membership, and the user is told so instead of "no access"."""
    with unscoped():
        names = Membership.objects.filter(
            user=user, is_active=False, partner__archived_at__isnull=False
        ).values_list("partner__name", flat=True)
        return next(iter(names[:1]), "")


def membership_list(*, actor: Actor, partner_id: int | None = None) -> QuerySet[Membership]:
    """Memberships visible to the actor (partner users: their own partner's team)."""
    queryset = Membership.objects.select_related("user", "partner")
    if partner_id is not None:
        queryset = queryset.filter(partner_id=partner_id)
    return queryset.order_by("user__email")


def staff_membership_list(*, actor: Actor) -> QuerySet[Membership]:
    """The workspace's staff memberships, active first (admins manage them on the Users page and API)."""
    actor.require(Perm.WORKSPACE_ADMIN)
    with unscoped():  # an owned-only admin still manages every staff user of the workspace
        return (
            Membership.objects.filter(workspace_id=actor.workspace_id, partner__isnull=True)
            .select_related("user")
            .order_by("-is_active", "user__email")
        )


def membership_get(*, actor: Actor, public_id: str) -> Membership:
    return Membership.objects.select_related("user", "partner").get(public_id=public_id)


def staff_user_list(*, actor: Actor) -> QuerySet[User]:
    """Active staff users of the actor's workspace (for owner pickers)."""
    with unscoped():
        ids = list(
            Membership.objects.filter(
                workspace_id=actor.workspace_id, partner__isnull=True, is_active=True
            ).values_list("user_id", flat=True)
        )
    return User.objects.filter(pk__in=ids, is_active=True).order_by("full_name", "email")


def token_list(*, actor: Actor) -> QuerySet[ApiToken]:
    actor.require(Perm.PARTNER_VIEW)
    return ApiToken.objects.filter(user_id=actor.user_id or 0, workspace_id=actor.workspace_id)
