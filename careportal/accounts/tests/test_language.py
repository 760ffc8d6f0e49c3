"""The language saved in account settings: the portal follows it, and so do emails."""

from __future__ import annotations

from django.conf import settings
from post_office.models import Email

from careportal.accounts.recovery import process_reset_requests
from careportal.accounts.security import set_security_answer
from tests.cast import PASSWORD

LANGUAGE = "/accounts/settings/language/"
SETTINGS = "/accounts/settings/"
LOGIN = "/accounts/login/"


def test_it_shows_the_language_section_in_account_settings(client, cast):
    client.force_login(cast.tom)

    body = client.get(SETTINGS).content.decode()

    assert '<h2 id="language-heading">Language and emails</h2>' in body
    assert '<option value="en" selected>English</option>' in body
    assert '<option value="es">Español</option>' in body
    assert "Save language" in body


def test_it_saves_the_language_and_switches_to_it_at_once(client, cast):
    client.force_login(cast.tom)

    response = client.post(LANGUAGE, {"language": "es"})

    assert response.status_code == 302
    assert response["Location"] == SETTINGS
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    body = client.get(SETTINGS).content.decode()
    assert "Mi cuenta" in body
    assert "Se guardó el idioma." in body
    assert '<option value="es" selected>Español</option>' in body
    cast.tom.refresh_from_db()
    assert cast.tom.language == "es"


def test_it_refuses_a_language_we_do_not_offer(client, cast):
    client.force_login(cast.tom)

    response = client.post(LANGUAGE, {"language": "fr"})

    assert response.status_code == 400
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    cast.tom.refresh_from_db()
    assert cast.tom.language == ""


def test_it_asks_anonymous_visitors_to_sign_in_before_saving_a_language(client, db):
    response = client.post(LANGUAGE, {"language": "es"})

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_it_applies_the_saved_language_at_sign_in(client, cast):
    cast.tom.language = "es"
    cast.tom.save()

    response = client.post(LOGIN, {"username": "tom.hale", "password": PASSWORD})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    assert "Próximas visitas" in client.get("/").content.decode()
    # Once only: the frame's form can change it for the rest of the session.
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Next visits" in client.get("/").content.decode()


def test_it_leaves_the_browser_language_alone_without_a_saved_one(client, cast):
    response = client.post(
        LOGIN, {"username": "tom.hale", "password": PASSWORD}, headers={"accept-language": "es"}
    )

    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies
    assert "Próximas visitas" in client.get("/", headers={"accept-language": "es"}).content.decode()


def test_it_sends_the_reset_email_in_the_recipients_language(client, cast):
    set_security_answer(cast.tom, "first_pet", "Rex the Dog")
    cast.tom.language = "es"
    cast.tom.save()

    # Asked from an English page: the email still goes in Tom's language.
    client.post("/accounts/password/forgot/", {"username": "tom.hale"})
    process_reset_requests()  # the worker's step sends it

    email = Email.objects.get(to=cast.tom.email)
    assert email.subject == "Sunrise Home Care: elija una nueva contraseña"
    assert "Alguien pidió cambiar la contraseña de su cuenta de CarePortal." in email.message
    assert "Someone asked" not in email.message


def test_it_sends_the_reset_email_in_english_by_default(client, cast):
    set_security_answer(cast.tom, "first_pet", "Rex the Dog")
    cast.tom.save()

    client.post(
        "/accounts/password/forgot/", {"username": "tom.hale"}, headers={"accept-language": "es"}
    )
    process_reset_requests()  # the worker's step sends it

    email = Email.objects.get(to=cast.tom.email)
    assert "Someone asked to reset the password" in email.message
