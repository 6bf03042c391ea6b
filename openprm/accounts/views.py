from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_POST

from openprm.accounts import selectors, services
from openprm.accounts.forms import LoginForm, StaffMemberForm, StaffUserForm, TokenForm, add_service_errors
from openprm.accounts.models import ApiToken
from openprm.core.http import actor_of, member_view, staff_view
from openprm.core.permissions import Perm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a reset link, at most a few per address and per client an hour (same page either way)."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"

    def form_valid(self, form: Any) -> HttpResponse:
        allowed = services.password_reset_allowed(
            email=form.cleaned_data["email"], client_ip=get_client_ip_address(self.request)
        )
        if allowed:
            return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Choosing a new password also lifts a log-in lockout of that account."""

    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.login_lockout_clear(user=form.user)
        return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = getattr(request, "actor", None)
    if actor is None:
        archived = selectors.archived_partner_of(request.user) if request.user.is_authenticated else ""
        return render(request, "accounts/no_access.html", {"archived_partner": archived}, status=403)
    return redirect("portal:home" if actor.is_partner_user else "partners:list")


@member_view
def tokens(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    created = None
    form = TokenForm(request.POST or None)
    if request.method == "POST":
        actor.require(Perm.API_TOKENS)
    if request.method == "POST" and form.is_valid():
        try:
            _, created = services.token_create(actor=actor, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "created": created,
            "tokens": selectors.token_list(actor=actor),
            "can_create": actor.can(Perm.API_TOKENS),
        },
    )


@member_view
@require_POST
def token_revoke(request: HttpRequest, public_id: str) -> HttpResponse:
    actor = actor_of(request)
    token = get_object_or_404(ApiToken, public_id=public_id, user_id=actor.user_id)
    services.token_revoke(actor=actor, token=token)
    messages.success(request, f"Token “{token.name}” revoked.")
    return redirect("tokens")


@staff_view
def users(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    form = StaffUserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.user_invite(
                actor=actor, base_url=request.build_absolute_uri("/"), **form.cleaned_data
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"{membership.user.email} invited; they were e-mailed a link.")
            return redirect("users")
    staff = selectors.staff_membership_list(actor=actor)
    return render(
        request,
        "accounts/users.html",
        {"form": form, "memberships": staff, "roles": StaffMemberForm.base_fields["role"].choices},  # type: ignore[attr-defined]
    )


@staff_view
@require_POST
def user_update(request: HttpRequest, public_id: str) -> HttpResponse:
    """One staff user's role or access (admins): change role, deactivate, reactivate."""
    actor = actor_of(request)
    actor.require(Perm.WORKSPACE_ADMIN)
    membership = get_object_or_404(selectors.staff_membership_list(actor=actor), public_id=public_id)
    form = StaffMemberForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, " ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        )
        return redirect("users")
    try:
        services.membership_update(
            actor=actor,
            membership=membership,
            role=form.cleaned_data["role"] or None,
            is_active=form.cleaned_data["is_active"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        state = "active" if membership.is_active else "deactivated"
        messages.success(request, f"{membership.user.email}: {membership.get_role_display()}, {state}.")
    return redirect("users")
