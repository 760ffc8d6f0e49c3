"""Change Password (the invitation link) and asking for a new invitation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from careportal.accounts import throttle
from careportal.accounts.passwords import policy_for, rules_for
from careportal.accounts.signin import sign_in
from careportal.invitations import services
from careportal.invitations.forms import ChangePasswordForm, NewInvitationForm
from careportal.invitations.models import Invitation, InvitationState

SIGN_IN_BACKEND = "careportal.accounts.backends.UsernameOrEmailBackend"


def _invitation(token: str) -> Invitation | None:
    pk = Invitation.pk_from_token(token)
    if pk is None:
        return None
    return Invitation.objects.select_related("user", "agency").filter(pk=pk).first()


@login_not_required
@never_cache
@sensitive_post_parameters("current_password", "new_password", "confirm_password", "answer")
def setup(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation(token)
    if invitation is None:
        return render(
            request,
            "invitations/link_problem.html",
            {"problem": "invalid", "form": NewInvitationForm()},
            status=404,
        )
    if invitation.state == InvitationState.ACCEPTED:
        return render(request, "invitations/link_problem.html", {"problem": "accepted"})
    if invitation.state in (InvitationState.QUEUED, InvitationState.RETRYING):
        # The worker commits the sent state just after the SMTP server takes the email, so a
        # very quick click can arrive first: ask for a moment rather than call it expired.
        return render(
            request,
            "invitations/link_problem.html",
            {
                "problem": "sending",
                "invitation": invitation,
                "token": token,
                "agency": invitation.agency,
            },
        )
    if not invitation.is_usable or not invitation.user.is_active:
        return _not_usable(request, invitation, token)
    # Before the one-time password is checked: an address past its limit learns nothing.
    if request.method == "POST" and throttle.address_is_throttled(request, throttle.SETUP):
        return _throttled(request)

    form = ChangePasswordForm(request.POST or None, invitation=invitation)
    if request.method == "POST" and form.has_error("current_password", "wrong_one_time_password"):
        throttle.count_for_address(request, throttle.SETUP)
        if services.count_wrong_one_time_password(invitation=invitation, request=request):
            invitation.refresh_from_db()
            return _not_usable(request, invitation, token)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept_invitation(
                invitation=invitation,
                new_password=form.cleaned_data["new_password"],
                question=form.cleaned_data["security_question"],
                answer=form.cleaned_data["answer"],
                request=request,
            )
        except services.InvitationNotUsable:
            return redirect("invitations:setup", token=token)
        # A new session key: whatever session the browser had is left behind. Two-step
        # sign-in, where it applies, follows through the middleware.
        sign_in(request, user, backend=SIGN_IN_BACKEND)
        return redirect("backoffice:index" if user.kind == "staff" else "portal:dashboard")
    agency = invitation.agency
    return render(
        request,
        "invitations/change_password.html",
        {
            "form": form,
            "invitation": invitation,
            "agency": agency,
            # The frame shows the agency's name and logo before anyone is signed in.
            "portal_agency": agency,
            "password_rules": rules_for(agency),
            "password_policy": policy_for(agency),
        },
        status=400 if form.is_bound else 200,
    )


def _not_usable(request: HttpRequest, invitation: Invitation, token: str) -> HttpResponse:
    """The page of an invitation that no longer works: why, and how to get a new one."""
    if invitation.ended_by_wrong_tries:
        problem = "too_many_tries"
    elif invitation.state == InvitationState.SUPERSEDED:
        problem = "superseded"
    else:
        problem = "expired"
    return render(
        request,
        "invitations/link_problem.html",
        {"problem": problem, "invitation": invitation, "token": token, "agency": invitation.agency},
    )


def _throttled(request: HttpRequest) -> HttpResponse:
    """The page of an address past its limit at invitation set-up (accounts.throttle)."""
    minutes = int(throttle.ADDRESS_WINDOW.total_seconds() // 60)
    return render(request, "accounts/throttled.html", {"minutes": minutes}, status=429)


@login_not_required
@require_POST
def renew(request: HttpRequest, token: str) -> HttpResponse:
    """Queue a fresh invitation for the login of an expired link."""
    invitation = _invitation(token)
    # An invitation ended by wrong one-time passwords is renewed by the agency, not by
    # whoever holds its link.
    if (
        invitation is not None
        and invitation.state != InvitationState.ACCEPTED
        and not invitation.ended_by_wrong_tries
    ):
        services.request_new_invitation(user=invitation.user, request=request)
    # The same answer whether or not one was queued.
    return render(request, "invitations/new_invitation_sent.html")


@login_not_required
def new(request: HttpRequest) -> HttpResponse:
    """Ask for a new invitation by username or email (for a link that does not work)."""
    form = NewInvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # Only what was typed is kept here, the same work for any name: the worker looks
        # it up and sends (services.process_new_invitation_requests).
        services.record_new_invitation_request(typed=form.cleaned_data["username"], request=request)
        return render(request, "invitations/new_invitation_sent.html")
    return render(
        request,
        "invitations/link_problem.html",
        {"problem": "ask", "form": form},
        status=400 if form.is_bound else 200,
    )
