from django.contrib.auth import views as auth_views
from django.urls import path

from careportal.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/", views.two_factor, name="two_factor"),
    path("two-factor/set-up/", views.two_factor_enrol, name="two_factor_enrol"),
    path("two-factor/turn-off/", views.two_factor_disable, name="two_factor_disable"),
    path(
        "two-factor/recovery-codes/",
        views.recovery_codes_renew,
        name="recovery_codes_renew",
    ),
    path("password/forgot/", views.forgot_password, name="forgot_password"),
    path("password/reset/<uidb64>/<token>/", views.password_reset, name="password_reset"),
    path("session/", views.session_status, name="session_status"),
    path("session/stay/", views.session_keepalive, name="session_keepalive"),
    path("settings/", views.account_settings, name="settings"),
    path("settings/password/", views.password_change, name="password_change"),
    path("settings/security-question/", views.security_question_change, name="security_question"),
    path("settings/language/", views.language_change, name="language"),
    path("settings/email/", views.email_change, name="email_change"),
    path("settings/email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("settings/sign-out-everywhere/", views.sign_out_everywhere, name="sign_out_everywhere"),
]
