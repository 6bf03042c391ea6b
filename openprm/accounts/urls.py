from django.contrib.auth import views as auth_views
from django.urls import path

from openprm.accounts import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("settings/tokens/", views.tokens, name="tokens"),
    path("settings/tokens/<uuid:public_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("settings/users/", views.users, name="users"),
    path("settings/users/<uuid:public_id>/", views.user_update, name="user_update"),
]
