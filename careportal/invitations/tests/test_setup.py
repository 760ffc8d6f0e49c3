import datetime

from django.core import mail
from django.urls import reverse
from django.utils import timezone

from careportal.accounts.models import PasswordHistory, SessionRecord, User
from careportal.accounts.security import check_security_answer
from careportal.audit.models import AuditEvent
from careportal.invitations.models import Invitation, InvitationState
from careportal.invitations.services import (
    SELF_SERVICE_FRESH,
    SELF_SERVICE_LIMIT,
    authenticate_one_time_password,
    process_new_invitation_requests,
    setup_url_for,
    sync_portal_account,
)
from careportal.people.models import Client

NEW = "Autumn leaves 4 ever!"


def _main(response):
    """Return the page's main content (the frame carries a per-request CSRF token)."""
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


def _invited(cast, sent_invitation):
    client = Client.objects.create(
        agency=cast.sunrise, first_name="June", last_name="Park", email="june@mail.example"
    )
    sync_portal_account(party=client, previous_email=None)
    return sent_invitation()


def _form(otp, new=NEW, confirm=None, question="first_pet", answer="  Rex  "):
    return {
        "current_password": otp,
        "new_password": new,
        "confirm_password": new if confirm is None else confirm,
        "security_question": question,
        "answer": answer,
    }


def test_it_shows_change_password_with_the_labels_and_rules(client, cast, sent_invitation):
    link, _username, _otp = _invited(cast, sent_invitation)
    response = client.get(link)

    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Current Password", "New Password", "Confirm Password", "Security question"):
        assert f">{label}</label>" in html
    assert ">Answer</label>" in html
    assert "The one-time password from your email." in html
    assert 'data-min-length="12"' in html and "Have at least one capital letter" in html
    assert "js/password-rules.js" in html and "<script>" not in html
    assert html.count("<option") >= 9  # a blank choice and at least eight questions


def test_it_shows_the_agency_in_the_frame_before_sign_in(client, cast, sent_invitation):
    link, _username, _otp = _invited(cast, sent_invitation)
    html = client.get(link).content.decode()

    header = html[html.index('class="site-header"') : html.index("</header>")]
    assert "Sunrise Home Care" in header


def test_it_asks_for_a_moment_while_the_invitation_is_still_being_sent(client, cast):
    person = Client.objects.create(
        agency=cast.sunrise, first_name="Quinn", last_name="Quick", email="quinn@mail.example"
    )
    sync_portal_account(party=person, previous_email=None)
    invitation = Invitation.objects.get(user__client_record=person)
    assert invitation.state == InvitationState.QUEUED

    response = client.get(setup_url_for(invitation))

    assert response.status_code == 200
    assert "Your invitation is on its way" in _main(response)
    assert "expired" not in _main(response)
    invitation.refresh_from_db()
    assert invitation.state == InvitationState.QUEUED


def test_it_sets_the_password_signs_in_and_lands_on_the_dashboard(client, cast, sent_invitation):
    link, username, otp = _invited(cast, sent_invitation)
    client.cookies["sessionid"] = "an-old-session-key"
    response = client.post(link, _form(otp))

    assert response.status_code == 302
    assert response.url == reverse("portal:dashboard")
    user = User.objects.get(username=username)
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.session.session_key != "an-old-session-key"
    assert user.check_password(NEW) and not user.must_change_password
    assert user.security_question == "first_pet" and check_security_answer(user, "rex")
    assert PasswordHistory.objects.filter(user=user).count() == 1
    invitation = Invitation.objects.get(user=user)
    assert invitation.state == InvitationState.ACCEPTED and invitation.otp_hash == ""
    assert AuditEvent.objects.filter(action="invitation.accepted", actor=user).exists()


def test_it_signs_in_as_the_sign_in_page_does(client, cast, sent_invitation):
    link, username, otp = _invited(cast, sent_invitation)
    user = User.objects.get(username=username)
    user.language = "es"
    user.save(update_fields=["language"])

    response = client.post(link, _form(otp))

    # The session is one of the login's (a password change or "Sign out everywhere" ends
    # it), the account's language follows, and the sign-in is in the audit log.
    assert SessionRecord.objects.filter(user=user, session_key=client.session.session_key).exists()
    assert response.cookies["django_language"].value == "es"
    assert AuditEvent.objects.filter(action="signin.success", actor=user).exists()


def test_it_spends_the_one_time_password(client, cast, sent_invitation):
    link, username, otp = _invited(cast, sent_invitation)
    client.post(link, _form(otp))
    client.logout()

    response = client.get(link)
    assert "already chosen your password" in response.content.decode()
    assert authenticate_one_time_password(username_or_user=username, password=otp) is None


def test_it_lets_a_person_come_back_before_it_expires(client, cast, sent_invitation):
    link, _username, otp = _invited(cast, sent_invitation)
    client.get(link)  # opened, then the tab was closed
    response = client.post(link, _form(otp))

    assert response.status_code == 302


def test_it_lists_errors_in_plain_words_at_the_top_and_beside_fields(client, cast, sent_invitation):
    link, username, _otp = _invited(cast, sent_invitation)
    response = client.post(
        link, _form("WRONGPASSWORD", new="short", confirm="other", question="", answer="")
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error-summary"' in html
    assert "This is not the one-time password from your email" in html
    assert "Your password is too short. It needs at least 12 characters." in html
    assert "Please choose a security question." in html
    assert html.count("Your password needs at least one capital letter.") == 2  # top + field
    user = User.objects.get(username=username)
    assert user.must_change_password and not user.has_usable_password()
    assert Invitation.objects.get(user=user).state == InvitationState.SENT


def test_it_refuses_different_new_passwords(client, cast, sent_invitation):
    link, _username, otp = _invited(cast, sent_invitation)
    response = client.post(link, _form(otp, confirm="Autumn leaves 4 never!"))

    assert "The two new passwords are not the same." in response.content.decode()
    assert Invitation.objects.get().state == InvitationState.SENT


def test_it_refuses_a_password_like_the_username(client, cast, sent_invitation):
    link, _username, otp = _invited(cast, sent_invitation)
    response = client.post(link, _form(otp, new="June.Park2026!"))

    assert "too much like your username" in response.content.decode()


def test_it_says_an_expired_password_has_expired_and_offers_a_new_one(
    client, cast, sent_invitation
):
    link, username, otp = _invited(cast, sent_invitation)
    Invitation.objects.update(expires_at=timezone.now())

    response = client.get(link)
    html = response.content.decode()
    assert "has expired" in html and "Email me a new invitation" in html
    response = client.post(link, _form(otp))
    assert "has expired" in response.content.decode()
    assert User.objects.get(username=username).must_change_password

    token = link.split("/")[-2]
    response = client.post(reverse("invitations:renew", args=[token]))
    assert "Check your email" in response.content.decode()
    new = Invitation.objects.filter(state=InvitationState.QUEUED).get()
    assert new.user.username == username
    assert AuditEvent.objects.filter(action="invitation.resent", object_id=str(new.pk))


def _sent_a_while_ago():
    """Age the sent invitations past the time a fresh one-time password is kept."""
    Invitation.objects.filter(state=InvitationState.SENT).update(
        sent_at=timezone.now() - SELF_SERVICE_FRESH - datetime.timedelta(minutes=1)
    )


def test_it_rate_limits_new_invitations_with_the_same_answer(client, cast, sent_invitation):
    link, username, _otp = _invited(cast, sent_invitation)
    _sent_a_while_ago()
    token = link.split("/")[-2]
    answers = set()
    for _ in range(SELF_SERVICE_LIMIT + 2):
        response = client.post(reverse("invitations:renew", args=[token]))
        answers.add(_main(response))

    assert len(answers) == 1
    assert Invitation.objects.filter(user__username=username).count() == SELF_SERVICE_LIMIT


def test_it_answers_the_same_for_unknown_people(client, cast, sent_invitation):
    _invited(cast, sent_invitation)
    _sent_a_while_ago()
    known = client.post(reverse("invitations:new"), {"username": "june.park"})
    unknown = client.post(reverse("invitations:new"), {"username": "nobody.here"})
    set_up = client.post(reverse("invitations:new"), {"username": "ellen.hale"})

    assert _main(known) == _main(unknown) == _main(set_up)
    # The page only records what was typed; the worker looks the names up.
    assert Invitation.objects.filter(state=InvitationState.QUEUED).count() == 0
    assert process_new_invitation_requests() == 1
    assert Invitation.objects.filter(state=InvitationState.QUEUED).count() == 1
    assert not Invitation.objects.filter(user=cast.ellen).exists()


def test_it_keeps_a_one_time_password_sent_minutes_ago(client, cast, sent_invitation):
    link, username, otp = _invited(cast, sent_invitation)
    live = Invitation.objects.get(user__username=username)
    token = link.split("/")[-2]

    renewed = client.post(reverse("invitations:renew", args=[token]))
    asked = client.post(reverse("invitations:new"), {"username": username})
    unknown = client.post(reverse("invitations:new"), {"username": "nobody.here"})
    process_new_invitation_requests()

    assert _main(renewed) == _main(asked) == _main(unknown)
    assert list(Invitation.objects.filter(user__username=username)) == [live]
    live.refresh_from_db()
    assert live.is_usable and live.check_one_time_password(otp)

    _sent_a_while_ago()
    client.post(reverse("invitations:new"), {"username": username})
    process_new_invitation_requests()
    live.refresh_from_db()
    assert live.state == InvitationState.SUPERSEDED
    assert Invitation.objects.get(user__username=username, state=InvitationState.QUEUED)


def test_it_says_a_bad_link_does_not_work(client, cast):
    response = client.get(reverse("invitations:setup", args=["not-a-token"]))

    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_it_says_a_replaced_invitation_no_longer_works(client, cast, sent_invitation):
    link, _username, otp = _invited(cast, sent_invitation)
    invitation = Invitation.objects.get()
    from careportal.invitations.services import resend_invitation

    resend_invitation(invitation=invitation, actor=cast.owner, request=None)
    response = client.post(link, _form(otp))

    assert "A newer invitation was sent to you" in response.content.decode()
    assert User.objects.get(pk=invitation.user_id).must_change_password


def test_it_finds_the_invitation_of_a_one_time_password_for_the_sign_in_page(cast, sent_invitation):
    link, username, otp = _invited(cast, sent_invitation)

    invitation = authenticate_one_time_password(username_or_user=username.upper(), password=otp)
    assert invitation == Invitation.objects.get()
    # The token carries a timestamp, so compare what the two links stand for.
    token_of = lambda url: url.rstrip("/").rsplit("/", 1)[-1]  # noqa: E731
    assert setup_url_for(invitation).startswith("/accounts/setup/")
    assert Invitation.pk_from_token(token_of(setup_url_for(invitation))) == invitation.pk
    assert Invitation.pk_from_token(token_of(link)) == invitation.pk
    assert authenticate_one_time_password(username_or_user="june@mail.example", password=otp)
    assert authenticate_one_time_password(username_or_user=username, password="x" * 14) is None
    assert authenticate_one_time_password(username_or_user="nobody", password=otp) is None
    assert len(mail.outbox) == 1


def test_it_sends_a_new_staff_member_to_the_back_office(client, cast, sent_invitation):
    from careportal.invitations.services import invite_staff

    invite_staff(
        agency=cast.sunrise,
        name="Nina Nurse",
        email="nina@sunrise.example",
        role="scheduler",
        actor=cast.owner,
        request=None,
    )
    link, username, otp = sent_invitation()
    response = client.post(link, _form(otp, new="Quiet harbour 9 lights?"))

    assert response.status_code == 302
    assert response.url == reverse("backoffice:index")
    assert User.objects.get(username=username).check_password("Quiet harbour 9 lights?")


def test_it_tells_a_set_up_client_of_a_new_address_without_new_credentials(
    client, cast, sent_invitation
):
    from post_office.models import Email

    link, username, otp = _invited(cast, sent_invitation)
    client.post(link, _form(otp))
    june = Client.objects.get(user__username=username)
    june.email = "june.new@mail.example"
    june.save()
    sync_portal_account(party=june, previous_email="june@mail.example")

    assert not Invitation.objects.filter(state=InvitationState.QUEUED).exists()
    new_address = Email.objects.get(to="june.new@mail.example")
    assert "Your username and password stay the same" in " ".join(new_address.message.split())
    assert Email.objects.filter(to="june@mail.example").exists()
    assert User.objects.get(username=username).email == "june.new@mail.example"


def test_it_issues_the_demo_invitation_afresh(client, cast, settings):
    from careportal.agencies.management.commands.seed_demo import issue_demo_invitation

    settings.DEBUG = True
    first_link, first_otp = issue_demo_invitation(client=cast.margaret)
    link, otp = issue_demo_invitation(client=cast.margaret)

    assert link.startswith("http://") and "/accounts/setup/" in link
    assert otp != first_otp
    path = link[link.index("/accounts/") :]
    # The earlier invitation is deleted, not kept superseded: re-running adds no rows.
    assert client.get(first_link[first_link.index("/accounts/") :]).status_code == 404
    response = client.post(path, _form(otp, new="Margaret's garden 7 roses!"))
    assert response.status_code == 302
    assert Invitation.objects.filter(user=cast.margaret.user).count() == 1


def test_it_shows_the_agencys_rules_on_pages_that_pass_only_the_form(cast):
    from django import forms
    from django.template.loader import render_to_string

    class ResetForm(forms.Form):
        new_password = forms.CharField()
        confirm_password = forms.CharField()

    cast.sunrise.password_preset = "nist"
    cast.sunrise.save()
    form = ResetForm()
    form.user = cast.margaret.user
    html = render_to_string(
        "accounts/_password_rules.html", {"form": form, "field": form["new_password"]}
    )

    assert 'data-for="id_new_password"' in html and 'data-confirm="id_confirm_password"' in html
    assert 'data-min-length="15"' in html and 'data-composition="false"' in html
    assert "Have at least 15 characters." in html and "capital" not in html
    assert "js/password-rules.js" in html
