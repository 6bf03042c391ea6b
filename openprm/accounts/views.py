from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from openprm.accounts import selectors, services
from openprm.accounts.forms import LoginForm, StaffUserForm, TokenForm, add_service_errors
from openprm.accounts.models import ApiToken
from openprm.core.http import actor_of, member_view, staff_view
from openprm.core.permissions import Perm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    actor = getattr(request, "actor", None)
    if actor is None:
        return render(request, "accounts/no_access.html", status=403)
    return redirect("portal:home" if actor.is_partner_user else "partners:list")


@member_view
def tokens(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    created = None
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            _, created = services.token_create(actor=actor, name=form.cleaned_data["name"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "created": created, "tokens": selectors.token_list(actor=actor)},
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
    staff = selectors.membership_list(actor=actor).filter(partner__isnull=True)
    return render(request, "accounts/users.html", {"form": form, "memberships": staff})
