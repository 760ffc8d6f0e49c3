"""The message to the agency owner goes in the owner's language, whatever the sender reads."""

from __future__ import annotations

from django.urls import reverse
from post_office.models import Email

COMPOSE = reverse("messaging:compose")


def _send(client, **headers):
    return client.post(
        COMPOSE, {"subject": "Una pregunta", "body": "¿Podemos cambiar la visita?"}, headers=headers
    )


def test_it_writes_to_the_owner_in_the_owners_language(client, cast):
    cast.owner.language = "es"
    cast.owner.save()
    client.force_login(cast.margaret.user)

    response = _send(client)

    assert response.status_code == 302
    email = Email.objects.get()
    assert "Enviado por Margaret Hale (client) a través del portal de Sunrise Home Care." in (
        email.message
    )
    assert "responda a este correo" in email.message


def test_it_writes_to_the_owner_in_english_without_a_saved_language(client, cast):
    client.force_login(cast.margaret.user)

    # The sender reads Spanish; the owner has chosen nothing, so the agency's English is used.
    response = _send(client, **{"accept-language": "es"})

    assert response.status_code == 302
    email = Email.objects.get()
    assert "Sent by Margaret Hale (cliente) through the Sunrise Home Care portal." in email.message


def test_it_ignores_the_language_of_another_agencys_owner(client, cast):
    cast.harriet.language = "es"
    cast.harriet.save()
    client.force_login(cast.margaret.user)

    _send(client)

    assert "Sent by Margaret Hale" in Email.objects.get().message
