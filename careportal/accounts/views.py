"""Sign-in, two-factor, Forgot password, sessions and account settings."""

from __future__ import annotations

from typing import cast

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model, logout
from django.contrib.auth.decorators import login_not_required
from django.forms import Form
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme, urlsafe_base64_decode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from careportal.accounts import changes, lockout, recovery, sessions, throttle, twofactor
from careportal.accounts.backends import find_login
from careportal.accounts.forms import (
    ChangePasswordForm,
    CodeForm,
    EmailChangeForm,
    ForgotPasswordForm,
    LanguageForm,
    PasswordCheckForm,
    ResetPasswordForm,
    SecurityQuestionForm,
    SignInForm,
)
from careportal.accounts.http import AuthenticatedHttpRequest
from careportal.accounts.languages import set_language_cookie
from careportal.accounts.middleware import PASSWORD_EXPIRED
from careportal.accounts.models import User, UserKind
from careportal.accounts.security import question_text
from careportal.accounts.signin import sign_in
from careportal.accounts.tokens import read_email_change_token, reset_tokens
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.invitations.services import authenticate_one_time_password, setup_url_for

NEXT = "careportal_next"
RESET_SESSION_TOKEN = "careportal_reset_token"
RESET_URL_TOKEN = "set-password"
# The renewal form shares the settings page with the turn-off form: its own field ids.
RENEW_PREFIX = "renew"


def _home(user: User) -> str:
    if user.kind == UserKind.STAFF:
        return reverse("backoffice:index")
    if user.kind == UserKind.OPERATOR:
        return reverse("admin:index")
    return reverse("portal:dashboard")


def _next_or_home(request: AuthenticatedHttpRequest) -> str:
    """Return the page asked for before sign-in if it suits this login, else its home."""
    user = request.user
    wanted = request.session.pop(NEXT, "") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        # A staff login is never a portal login: each goes to its own side only, and
        # account pages (/accounts/) belong to both.
        staff_side = wanted.startswith(("/backoffice/", "/admin/"))
        if wanted.startswith("/accounts/") or staff_side == (user.kind != UserKind.PORTAL):
            return wanted
    return _home(user)


@login_not_required
@never_cache
@sensitive_post_parameters("password")
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and request.method == "GET":
        return redirect(_home(request.user))
    form = SignInForm(request.POST or None)
    failed = False
    if request.method == "POST" and throttle.address_is_throttled(request, throttle.SIGN_IN):
        return _throttled(request)
    if request.method == "POST" and form.is_valid():
        typed, password = form.cleaned_data["username"], form.cleaned_data["password"]
        # An invitation's one-time password leads to its Change Password page, unless the
        # account is locked; the page itself signs the person in when it is done.
        AxesProxyHandler.update_request(request)
        if AxesProxyHandler.is_allowed(request, {"username": typed}):
            invitation = authenticate_one_time_password(username_or_user=typed, password=password)
            if invitation is not None:
                record(Action.SIGNIN_ONE_TIME_PASSWORD, request=request, obj=invitation.user)
                return redirect(setup_url_for(invitation))
        user = authenticate(request, username=typed, password=password)
        if user is not None:
            return _sign_in(request, user)
        failed = True
        throttle.count_for_address(request, throttle.SIGN_IN)
        _record_failure(request, typed)
    return render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "failed": failed,
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=400 if failed else 200,
    )


def _throttled(request: HttpRequest) -> HttpResponse:
    """The page of an address past its limit at a door (accounts.throttle)."""
    minutes = int(throttle.ADDRESS_WINDOW.total_seconds() // 60)
    return render(request, "accounts/throttled.html", {"minutes": minutes}, status=429)


def _wrong_password_ends_session(
    request: AuthenticatedHttpRequest, form: Form
) -> HttpResponse | None:
    """Count a wrong Current Password with sign-in's failures; at the limit, sign out.

    Return the locked page when the login is now locked (this session is ended, as the
    lock ends a sign-in), else None: the form is shown again with its error.
    """
    if "current_password" not in form.errors:
        return None
    if not lockout.count_wrong_password(request=request, user=request.user):
        return None
    logout(request)
    return lockout.lockout_response(request)


def _locked_ends_session(request: AuthenticatedHttpRequest) -> HttpResponse | None:
    """A locked login re-checking its password from a session it still has: end it.

    Otherwise a second borrowed session would go on guessing where sign-in cannot.
    """
    if request.method != "POST" or not lockout.is_locked(request.user):
        return None
    logout(request)
    return lockout.lockout_response(request)


def _record_failure(request: HttpRequest, typed: str) -> None:
    user = find_login(typed)
    agency = getattr(user, "agency", None)
    locked_now = getattr(request, "axes_locked_out", False)
    started = locked_now and getattr(request, "axes_failures_since_start", None) is not None
    record(
        Action.SIGNIN_FAILURE,
        request=request,
        obj=user,
        agency=agency,
        # What was typed is not kept for unknown names: it may be a password typed in the
        # wrong box.
        known=user is not None,
        locked=locked_now,
    )
    if started:
        record(Action.ACCOUNT_LOCKED, request=request, obj=user, agency=agency)


def _sign_in(request: HttpRequest, user: User) -> HttpResponse:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    two_factor_next = sign_in(request, user)
    # After `sign_in`: the session has its new key by then.
    if wanted:
        request.session[NEXT] = wanted
    if two_factor_next:
        return redirect("accounts:two_factor")
    # `sign_in` made this login the request's user.
    return redirect(_next_or_home(cast(AuthenticatedHttpRequest, request)))


@never_cache
def two_factor(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Ask for the code of the login's authenticator app (or a recovery code)."""
    user = request.user
    if twofactor.is_verified(user):
        return redirect(_next_or_home(request))
    if not twofactor.has_two_factor(user):
        return redirect("accounts:two_factor_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = twofactor.verify_code(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            record(Action.SIGNIN_TWO_FACTOR, request=request, actor=user, obj=user)
            return redirect(_next_or_home(request))
        record(Action.SIGNIN_TWO_FACTOR_FAILURE, request=request, actor=user, obj=user)
        form.add_error("code", _("That code did not work. Please try the newest code."))
    return render(request, "accounts/two_factor.html", {"form": form})


@never_cache
def two_factor_enrol(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Set up an authenticator app: QR code and key, one code to confirm, recovery codes."""
    user = request.user
    if twofactor.has_two_factor(user):
        return redirect(
            "accounts:settings" if twofactor.is_verified(user) else "accounts:two_factor"
        )
    device = twofactor.pending_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.confirm_enrolment(
            user=user, device=device, token=form.cleaned_data["code"], request=request
        )
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            return render(
                request,
                "accounts/recovery_codes.html",
                {"codes": codes, "continue_url": _next_or_home(request)},
            )
        form.add_error("code", _("That code did not work. Check the app and type the newest code."))
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "qr_code": twofactor.qr_code_data_uri(device),
            "key_text": twofactor.key_text(device),
        },
    )


@require_POST
def two_factor_disable(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if twofactor.requires_two_factor(user):
        messages.error(request, _("Two-step sign-in is required for your account."))
        return redirect("accounts:settings")
    if locked := _locked_ends_session(request):
        return locked
    form = PasswordCheckForm(user, request.POST)
    if form.is_valid():
        twofactor.remove_two_factor(user=user, actor=user, request=request)
        messages.success(request, _("Two-step sign-in is now off."))
        return redirect("accounts:settings")
    if locked := _wrong_password_ends_session(request, form):
        return locked
    return _settings_page(request, disable_form=form, status=400)


@never_cache
@require_POST
@sensitive_post_parameters("renew-current_password")
def recovery_codes_renew(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Make a new set of recovery codes (the password is asked); the old ones die at once."""
    user = request.user
    if not twofactor.has_two_factor(user) or not twofactor.is_verified(user):
        return redirect("accounts:settings")
    if locked := _locked_ends_session(request):
        return locked
    form = PasswordCheckForm(user, request.POST, prefix=RENEW_PREFIX)
    if not form.is_valid():
        if locked := _wrong_password_ends_session(request, form):
            return locked
        return _settings_page(request, renew_form=form, status=400)
    codes = twofactor.renew_recovery_codes(user=user, request=request)
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "continue_url": reverse("accounts:settings"), "renewed": True},
    )


@login_not_required
@never_cache
def forgot_password(request: HttpRequest) -> HttpResponse:
    """Record what was typed for the worker and answer at once, the same for every name.

    The lookup, the per-account limit and the email happen in the worker's pass
    (recovery.process_reset_requests), so neither the answer nor its time tells whether
    the name exists. Each request counts towards its address's limit.
    """
    form = ForgotPasswordForm(request.POST or None)
    if request.method == "POST":
        if throttle.address_is_throttled(request, throttle.RESET):
            return _throttled(request)
        throttle.count_for_address(request, throttle.RESET)
    if request.method == "POST" and form.is_valid():
        recovery.record_reset_request(typed=form.cleaned_data["username"], request=request)
        # The same answer whether or not the name exists, and whether or not it is sent.
        return render(request, "accounts/forgot_password_sent.html")
    return render(request, "accounts/forgot_password.html", {"form": form})


def _reset_user(uidb64: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return get_user_model()._default_manager.filter(pk=pk, is_active=True).first()


@login_not_required
@never_cache
@sensitive_post_parameters("answer", "new_password", "confirm_password")
def password_reset(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The emailed link: the security question, New Password and Confirm Password.

    Like contrib.auth, the token moves from the address to the session at once, so it
    does not leak in the Referer header of the page.
    """
    user = _reset_user(uidb64)
    if token != RESET_URL_TOKEN:
        if user is not None and reset_tokens.check_token(user, token):
            request.session[RESET_SESSION_TOKEN] = token
            return redirect("accounts:password_reset", uidb64=uidb64, token=RESET_URL_TOKEN)
        return render(request, "accounts/reset_link_problem.html", status=404)
    session_token = request.session.get(RESET_SESSION_TOKEN)
    if user is None or not reset_tokens.check_token(user, session_token):
        return render(request, "accounts/reset_link_problem.html", status=404)
    if not user.security_answer_hash:
        return render(request, "accounts/reset_no_question.html", {"reset_user": user})
    if recovery.reset_is_locked(user):
        return render(request, "accounts/reset_locked.html", {"reset_user": user}, status=403)

    form = ResetPasswordForm(user, request.POST or None)
    if request.method == "POST":
        answer = request.POST.get("answer", "")
        right = bool(answer.strip()) and recovery.check_reset_answer(
            user=user, answer=answer, request=request
        )
        if not right and recovery.reset_is_locked(user):
            return render(request, "accounts/reset_locked.html", {"reset_user": user}, status=403)
        valid = form.is_valid()
        if answer.strip() and not right:
            form.add_error("answer", _("That answer is not the one we have. Please try again."))
        elif valid:
            recovery.complete_password_reset(
                user=user, raw_password=form.cleaned_data["new_password"], request=request
            )
            request.session.pop(RESET_SESSION_TOKEN, None)
            messages.success(
                request, _("Your password has been changed. Please sign in with it now.")
            )
            return redirect("accounts:login")
    return render(
        request,
        "accounts/password_reset.html",
        {
            "form": form,
            "question": question_text(user.security_question),
            "reset_user": user,
        },
        status=400 if form.is_bound else 200,
    )


@login_not_required
@never_cache
def session_status(request: HttpRequest) -> JsonResponse:
    """How long the session has left; asking does not count as activity."""
    signed_in = request.user.is_authenticated
    return JsonResponse(
        {
            "signed_in": signed_in,
            "seconds_left": sessions.seconds_left(request) if signed_in else 0,
            "warning_seconds": settings.SESSION_WARNING_SECONDS,
        }
    )


@login_not_required
@require_POST
@never_cache
def session_keepalive(request: HttpRequest) -> JsonResponse:
    """`Stay signed in`: the request itself is the activity (SessionTimeoutMiddleware)."""
    return session_status(request)


def _settings_page(
    request: AuthenticatedHttpRequest, status: int = 200, **forms: Form
) -> HttpResponse:
    user = request.user
    return render(
        request,
        "accounts/settings.html",
        {
            "has_two_factor": twofactor.has_two_factor(user),
            "two_factor_required": twofactor.requires_two_factor(user),
            "recovery_codes_left": twofactor.recovery_codes_left(user),
            "renew_form": forms.get("renew_form") or PasswordCheckForm(user, prefix=RENEW_PREFIX),
            "is_portal_user": user.kind == UserKind.PORTAL,
            "question": question_text(user.security_question),
            "disable_form": forms.get("disable_form") or PasswordCheckForm(user),
            "language_form": forms.get("language_form")
            or LanguageForm(initial={"language": user.language or translation.get_language()}),
        },
        status=status,
    )


@never_cache
def account_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _settings_page(request)


@never_cache
@require_POST
def language_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Save the account's language and switch this browser to it at once."""
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, language_form=form, status=400)
    user = request.user
    user.language = form.cleaned_data["language"]
    user.save(update_fields=["language"])
    translation.activate(user.language)
    messages.success(request, _("Language saved. Our emails to you will be in this language too."))
    response = redirect("accounts:settings")
    set_language_cookie(response, user.language)
    return response


@never_cache
@sensitive_post_parameters("current_password", "new_password", "confirm_password")
def password_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if locked := _locked_ends_session(request):
        return locked
    form = ChangePasswordForm(user, request.POST or None)
    forced = bool(user.must_change_password or request.session.get(PASSWORD_EXPIRED))
    if request.method == "POST" and form.is_valid():
        changes.change_password(
            user=user, raw_password=form.cleaned_data["new_password"], request=request
        )
        request.session.pop(PASSWORD_EXPIRED, None)
        messages.success(
            request, _("Your password has been changed. Other devices are signed out.")
        )
        # A change the sign-in asked for continues to the page the person was going to.
        return redirect(_next_or_home(request) if forced else "accounts:settings")
    if form.is_bound and (locked := _wrong_password_ends_session(request, form)):
        return locked
    return render(
        request,
        "accounts/password_change.html",
        {
            "form": form,
            "expired": bool(request.session.get(PASSWORD_EXPIRED)),
            "must_change": user.must_change_password,
        },
        status=400 if form.is_bound else 200,
    )


@never_cache
@sensitive_post_parameters("current_password", "answer")
def security_question_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if locked := _locked_ends_session(request):
        return locked
    form = SecurityQuestionForm(
        user, request.POST or None, initial={"security_question": user.security_question}
    )
    if request.method == "POST" and form.is_valid():
        changes.change_security_question(
            user=user,
            question=form.cleaned_data["security_question"],
            answer=form.cleaned_data["answer"],
            request=request,
        )
        messages.success(request, _("Your security question has been changed."))
        return redirect("accounts:settings")
    if form.is_bound and (locked := _wrong_password_ends_session(request, form)):
        return locked
    return render(
        request,
        "accounts/security_question.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@never_cache
@sensitive_post_parameters("current_password")
def email_change(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if locked := _locked_ends_session(request):
        return locked
    form = EmailChangeForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        changes.request_email_change(
            user=user, new_email=form.cleaned_data["email"], request=request
        )
        messages.success(
            request,
            _("We sent a link to %(email)s. Open it to confirm your new email address.")
            % {"email": form.cleaned_data["email"]},
        )
        return redirect("accounts:settings")
    if form.is_bound and (locked := _wrong_password_ends_session(request, form)):
        return locked
    return render(
        request, "accounts/email_change.html", {"form": form}, status=400 if form.is_bound else 200
    )


@never_cache
def email_confirm(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    user = request.user
    new_email = read_email_change_token(user, token)
    if new_email is None:
        return render(request, "accounts/email_link_problem.html", status=404)
    if request.method == "POST":
        changes.confirm_email_change(user=user, new_email=new_email, request=request)
        messages.success(request, _("Your email address is now %(email)s.") % {"email": new_email})
        return redirect("accounts:settings")
    return render(request, "accounts/email_confirm.html", {"new_email": new_email})


@require_POST
def sign_out_everywhere(request: AuthenticatedHttpRequest) -> HttpResponse:
    changes.sign_out_everywhere(user=request.user, request=request)
    logout(request)
    messages.success(request, _("You are signed out on every device."))
    return redirect("accounts:login")
