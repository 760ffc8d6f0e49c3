import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from post_office.models import Email

from careportal.audit.models import AuditEvent
from careportal.messaging.models import Message
from careportal.messaging.services import fill_template

COMPOSE = reverse("messaging:compose")
SENT = reverse("messaging:sent")


def _send(client, subject="A question", body="Dear Olivia,\n\nCan we move Tuesday's visit?"):
    return client.post(COMPOSE, {"subject": subject, "body": body})


def _old_messages(user, count, *, age):
    for i in range(count):
        message = Message.objects.create(
            agency=user.agency,
            sender=user,
            sender_name="x",
            sender_email=user.email,
            subject=f"Old {i}",
            body="b",
            recipient="owner@sunrise.example",
        )
        Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - age)


def test_it_loads_the_agency_template_for_the_client(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(COMPOSE)

    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["subject"] == "Message from Margaret Hale (client)"
    assert form.initial["body"].startswith("Dear Olivia Owner,")
    assert (
        "This is Margaret Hale, client, writing through the Sunrise Home Care portal."
        in form.initial["body"]
    )
    body = response.content.decode()
    assert '<label for="id_subject">Subject</label>' in body
    assert '<label for="id_body">Message</label>' in body
    assert ">Send</button>" in body


def test_it_starts_the_message_in_spanish_for_a_spanish_reader(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(COMPOSE, headers={"accept-language": "es"})

    form = response.context["form"]
    assert form.initial["subject"] == "Mensaje de Margaret Hale (cliente)"
    assert form.initial["body"].startswith("Buenos días, Olivia Owner:")
    assert (
        "Le escribe Margaret Hale, cliente, desde el portal de Sunrise Home Care."
        in (form.initial["body"])
    )


def test_it_uses_the_agencys_own_spanish_wording(client, cast):
    cast.sunrise.message_subject_template_es = "Consulta de {sender_name}"
    cast.sunrise.save()
    client.force_login(cast.margaret.user)

    spanish = client.get(COMPOSE, headers={"accept-language": "es"})
    english = client.get(COMPOSE, headers={"accept-language": "en"})

    assert spanish.context["form"].initial["subject"] == "Consulta de Margaret Hale"
    assert english.context["form"].initial["subject"] == "Message from Margaret Hale (client)"


def test_it_names_every_relationship_of_ellen(client, cast):
    client.force_login(cast.ellen)

    response = client.get(COMPOSE)

    subject = response.context["form"].initial["subject"]
    assert subject == (
        "Message from Ellen Hale "
        "(daughter of Margaret Hale, daughter of Walter Hale, Hale Family Trust)"
    )


@pytest.mark.parametrize(
    ("who", "relationship"),
    [
        ("payer", "Atlas Long-Term Care"),
        ("community", "Maple Grove"),
        ("contact_tom", "son of Margaret Hale"),
    ],
)
def test_it_names_the_relationship(client, cast, who, relationship):
    client.force_login(cast.portal_users[who])

    response = client.get(COMPOSE)

    assert response.status_code == 200
    assert f"({relationship})" in response.context["form"].initial["subject"]


def test_it_survives_unknown_placeholders_and_stray_braces(client, cast):
    cast.sunrise.message_subject_template = "Hi {owner_name} {nope} {"
    cast.sunrise.message_body_template = "{owner_name.__class__} {{literal}} } {agency_name}"
    cast.sunrise.save()
    client.force_login(cast.margaret.user)

    response = client.get(COMPOSE)

    assert response.status_code == 200
    assert response.context["form"].initial["subject"] == "Hi Olivia Owner {nope} {"
    assert (
        response.context["form"].initial["body"]
        == "{owner_name.__class__} {literal} } Sunrise Home Care"
    )


def test_it_fills_placeholders_only_by_name():
    assert fill_template("{a}{b}{{a}}", {"a": "1"}) == "1{b}{a}"


def test_it_saves_then_queues_the_email_with_reply_to(client, cast):
    client.force_login(cast.tom)

    response = _send(client)

    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("messaging:message_detail", args=[message.pk])
    page = client.get(response["Location"])
    assert "on its way to Sunrise Home Care" in page.content.decode()
    assert "move Tuesday" in page.content.decode()
    assert message.sender == cast.tom
    assert message.recipient == "owner@sunrise.example"
    assert message.relationship == "son of Margaret Hale"
    email = Email.objects.get()
    assert message.email == email
    assert email.to == ["owner@sunrise.example"]
    assert email.headers == {"Reply-To": cast.tom.email}
    assert email.subject == "A question"
    assert "Can we move Tuesday's visit?" in email.message
    assert "Tom Hale (son of Margaret Hale)" in email.message
    assert email.status != 0  # queued for the worker, not sent in the request
    event = AuditEvent.objects.get(action="message.sent")
    assert event.actor == cast.tom and event.object_id == str(message.pk)


def test_it_sends_to_the_agency_message_address_when_set(client, cast):
    cast.sunrise.message_email = "inbox@sunrise.example"
    cast.sunrise.save()
    client.force_login(cast.paula)

    _send(client)

    assert Email.objects.get().to == ["inbox@sunrise.example"]


def test_it_never_lets_the_subject_add_headers(client, cast):
    client.force_login(cast.margaret.user)

    response = _send(client, subject="Hello\r\nBcc: x@y.example\nCc: z@y.example")

    assert response.status_code == 302
    message = Message.objects.get()
    assert "\n" not in message.subject and "\r" not in message.subject
    email = Email.objects.get()
    assert email.to == ["owner@sunrise.example"]
    assert not email.cc and not email.bcc
    assert "\n" not in email.subject and "\r" not in email.subject
    mime = email.prepare_email_message().message()
    assert mime["Bcc"] is None and mime["Cc"] is None
    assert mime["To"] == "owner@sunrise.example"
    assert mime["Reply-To"] == cast.margaret.user.email


def test_it_ignores_recipients_in_the_form(client, cast):
    client.force_login(cast.margaret.user)

    client.post(
        COMPOSE,
        {"subject": "S", "body": "B", "to": "evil@x.example", "recipient": "evil@x.example"},
    )

    assert Email.objects.get().to == ["owner@sunrise.example"]


def test_it_asks_for_a_subject_and_a_message(client, cast):
    client.force_login(cast.margaret.user)

    response = _send(client, subject="\r\n", body="   ")

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"subject", "body"}
    assert 'class="errorlist"' in response.content.decode()
    assert not Message.objects.exists()


def test_it_stops_at_five_an_hour(client, cast):
    client.force_login(cast.margaret.user)
    for _ in range(5):
        assert _send(client).status_code == 302

    response = _send(client, subject="Sixth")

    assert response.status_code == 429
    assert "5 messages in the last hour" in response.content.decode()
    assert Message.objects.count() == 5
    assert not Message.objects.filter(subject="Sixth").exists()
    assert Email.objects.count() == 5
    assert "5 messages in the last hour" in client.get(COMPOSE).content.decode()


def test_it_stops_at_twenty_a_day(client, cast):
    user = cast.margaret.user
    _old_messages(user, 20, age=datetime.timedelta(hours=3))
    client.force_login(user)

    response = _send(client)

    assert response.status_code == 429
    assert "20 messages today" in response.content.decode()
    assert Message.objects.count() == 20


def test_it_forgets_messages_older_than_a_day(client, cast):
    user = cast.margaret.user
    _old_messages(user, 30, age=datetime.timedelta(hours=25))
    client.force_login(user)

    assert _send(client).status_code == 302


def test_it_counts_each_sender_apart(client, cast):
    _old_messages(cast.tom, 5, age=datetime.timedelta(minutes=5))
    client.force_login(cast.margaret.user)

    assert _send(client).status_code == 302


def test_it_lists_only_the_users_own_messages(client, cast):
    _old_messages(cast.tom, 1, age=datetime.timedelta(minutes=5))
    client.force_login(cast.margaret.user)
    _send(client, subject="Mine")

    response = client.get(SENT)

    assert response.status_code == 200
    assert "Mine" in response.content.decode()
    assert "Old 0" not in response.content.decode()


@pytest.mark.parametrize(
    ("language", "sent"), [("en", "Sent March 4, 2026, 9:30 a.m."), ("es", "Enviado el 4 de")]
)
def test_it_lists_each_message_linked_to_its_page_with_when_it_was_sent(
    client, cast, language, sent
):
    _old_messages(cast.tom, 2, age=datetime.timedelta(days=1))
    first = Message.objects.get(subject="Old 0")
    # 14:30 UTC is 9:30 in the agency's zone (New York, standard time).
    at = datetime.datetime(2026, 3, 4, 14, 30, tzinfo=datetime.UTC)
    Message.objects.filter(pk=first.pk).update(created_at=at)
    client.force_login(cast.tom)

    body = client.get(SENT, headers={"accept-language": language}).content.decode()

    link = f'<a href="{reverse("messaging:message_detail", args=[first.pk])}">Old 0</a>'
    assert re.search(rf"{re.escape(link)}\s*<br>{re.escape(sent)}", body)
    assert "Old 1</a>" in body


@pytest.mark.parametrize("who", ["contact_ellen", "payer", "stranger", "other_agency_client"])
def test_it_answers_404_for_someone_elses_message(client, cast, who):
    _old_messages(cast.tom, 1, age=datetime.timedelta(minutes=5))
    message = Message.objects.get()
    client.force_login(cast.portal_users[who])

    response = client.get(reverse("messaging:message_detail", args=[message.pk]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "who",
    [
        "client",
        "contact_ellen",
        "contact_tom",
        "payer",
        "community",
        "stranger",
        "other_agency_client",
    ],
)
def test_it_lets_every_portal_user_write_and_read_their_messages(client, cast, who):
    user = cast.portal_users[who]
    client.force_login(user)

    assert client.get(COMPOSE).status_code == 200
    response = _send(client)
    assert response.status_code == 302
    detail = client.get(response["Location"])

    assert detail.status_code == 200
    assert "no-store" in detail["Cache-Control"]
    assert "no-store" in client.get(COMPOSE)["Cache-Control"]
    assert "no-store" in client.get(SENT)["Cache-Control"]
    message = Message.objects.get()
    assert message.sender == user
    assert message.agency == user.agency
    assert message.recipient == user.agency.portal_message_email


def test_it_keeps_staff_and_anonymous_visitors_out(client, cast):
    for url in (COMPOSE, SENT):
        assert client.get(url)["Location"].startswith(reverse("accounts:login"))
    client.force_login(cast.owner)

    response = _send(client)

    assert (
        response.status_code != 302
        or "backoffice" in response["Location"]
        or "two-factor" in response["Location"]
    )
    assert not Message.objects.exists()


def test_it_lists_sent_messages_with_constant_queries(client, cast, django_assert_max_num_queries):
    user = cast.margaret.user
    client.force_login(user)
    _old_messages(user, 1, age=datetime.timedelta(days=2))
    with django_assert_max_num_queries(12):
        assert client.get(SENT).status_code == 200
    _old_messages(user, 40, age=datetime.timedelta(days=2))
    with django_assert_max_num_queries(12):
        assert client.get(SENT).status_code == 200


def test_it_names_the_relationship_in_the_senders_language(client, cast):
    client.force_login(cast.tom)

    spanish = client.get(COMPOSE, headers={"accept-language": "es"})

    # Never "son de Margaret Hale": the list's word is translated.
    assert "hijo de Margaret Hale" in spanish.context["form"].initial["body"]


def test_it_keeps_the_familys_own_words_for_another_relationship(client, cast):
    from careportal.people.models import EmergencyContact, Relationship

    EmergencyContact.objects.filter(user=cast.tom).update(
        relationship=Relationship.OTHER, relationship_other="Godson"
    )
    client.force_login(cast.tom)

    response = client.get(COMPOSE)

    assert "Godson of Margaret Hale" in response.context["form"].initial["body"]
