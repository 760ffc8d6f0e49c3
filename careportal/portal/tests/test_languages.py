"""English and Spanish: the browser's language, the frame's form, and the invoice PDF."""

from __future__ import annotations

import datetime
import re
import zlib

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from careportal.builders import make_invoice, make_visit

DASHBOARD = reverse("portal:dashboard")
LOGIN = reverse("accounts:login")
SET_LANGUAGE = reverse("set_language")


def _pdf_text(content: bytes) -> str:
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            text.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(text)


def test_it_shows_the_sign_in_page_in_spanish_to_a_spanish_browser(client, db):
    response = client.get(LOGIN, headers={"accept-language": "es-MX,es;q=0.9,en;q=0.5"})

    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es">' in body
    assert "Iniciar sesión" in body
    assert "Nombre de usuario o correo electrónico" in body
    assert "¿Olvidó su contraseña?" in body
    assert "Forgot password?" not in body


def test_it_shows_the_dashboard_in_spanish_to_a_spanish_browser(client, cast):
    make_invoice(cast.margaret, number="INV-ES")
    day = timezone.localdate(timezone=cast.sunrise.tz) + datetime.timedelta(days=1)
    start = datetime.datetime.combine(day, datetime.time(9), tzinfo=cast.sunrise.tz)
    make_visit(cast.margaret, cast.caregiver, start)
    client.force_login(cast.margaret.user)

    response = client.get(DASHBOARD, headers={"accept-language": "es"})

    body = response.content.decode()
    assert response.status_code == 200
    # Dates read the Spanish way, capitalised where they start a line: "Jueves 5 de marzo".
    assert re.search(r"<strong>[A-ZÁÉÍÓÚ][a-záéíóú]+ \d{1,2} de [a-z]+, 09:00", body)
    for words in ("Inicio", "Facturas", "Plan de cuidado", "Facturas por pagar", "Cerrar sesión"):
        assert words in body, words
    assert "Escribir al dueño o a la dueña de la agencia" in body
    assert "Invoices to pay" not in body


def test_it_shows_english_to_an_english_browser(client, cast):
    client.force_login(cast.margaret.user)

    body = client.get(DASHBOARD, headers={"accept-language": "en-US"}).content.decode()

    assert "Invoices to pay" in body
    assert "Facturas por pagar" not in body


def test_it_offers_the_language_form_on_every_page(client, cast):
    pages = [client.get(LOGIN)]
    client.force_login(cast.paula)
    pages += [client.get(DASHBOARD), client.get(reverse("billing:invoice_list"))]

    for response in pages:
        body = response.content.decode()
        assert f'<form method="post" action="{SET_LANGUAGE}" class="language-form">' in body
        assert '<label for="language-select">Language</label>' in body
        assert '<option value="en" lang="en" selected>English</option>' in body
        assert '<option value="es" lang="es">Español</option>' in body
        assert '<button type="submit" class="button button-secondary">Change</button>' in body


def test_it_switches_to_spanish_from_the_frame_form(client, cast):
    client.force_login(cast.tom)

    response = client.post(SET_LANGUAGE, {"language": "es", "next": DASHBOARD})

    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    body = client.get(DASHBOARD).content.decode()
    assert "Próximas visitas" in body
    assert '<option value="es" lang="es" selected>Español</option>' in body
    # The frame changes this browser only; the account keeps its own language for emails.
    cast.tom.refresh_from_db()
    assert cast.tom.language == ""


def test_it_switches_the_language_before_sign_in(client, db):
    response = client.post(SET_LANGUAGE, {"language": "es", "next": LOGIN})

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert "Iniciar sesión" in client.get(LOGIN).content.decode()


def test_it_switches_the_language_while_a_new_password_is_required(client, cast):
    cast.tom.must_change_password = True
    cast.tom.save()
    client.force_login(cast.tom)

    response = client.post(SET_LANGUAGE, {"language": "es", "next": DASHBOARD})

    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    follow = client.get(DASHBOARD, follow=True)
    assert "Cambiar la contraseña" in follow.content.decode()


def test_it_ignores_an_unknown_language_and_a_foreign_next(client, db):
    response = client.post(SET_LANGUAGE, {"language": "xx", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_it_draws_the_invoice_pdf_in_spanish(client, cast):
    invoice = make_invoice(cast.margaret, number="INV-7")
    client.force_login(cast.margaret.user)

    response = client.get(
        reverse("billing:invoice_pdf", args=[invoice.number]), headers={"accept-language": "es"}
    )

    assert response.status_code == 200
    text = _pdf_text(response.content)
    for words in ("Factura INV-7", "Facturar a", "Fecha de vencimiento", "Monto a pagar"):
        assert words in text, words
    assert "Visitas facturadas" in text
    # Spanish dates, and accents drawn in the PDF's Latin-1 fonts.
    assert re.search(r"\d{1,2} de \w+ de \d{4}", text)
    assert "Período de servicio" in text
    assert "Invoice INV-7" not in text


def test_it_shows_the_calendar_in_spanish(client, cast):
    client.force_login(cast.margaret.user)

    response = client.get(reverse("scheduling:calendar"), headers={"accept-language": "es"})

    body = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"Visitas de \w+ de \d{4}", body)
    assert "Anterior" in body and "Siguiente" in body


def test_it_writes_each_day_in_the_language_of_each_page(client, cast):
    # Days are formatted once per language (portal/days.py): English, then Spanish, then
    # English again, each page in its own.
    make_invoice(
        cast.margaret,
        issue_date=datetime.date(2026, 3, 4),
        due_date=datetime.date(2026, 4, 3),
        number="INV-DAYS",
    )
    client.force_login(cast.margaret.user)
    pages = {}
    for language in ("en", "es", "en"):
        invoices = client.get(
            reverse("billing:invoice_list"), headers={"accept-language": language}
        )
        details = client.get(
            reverse("billing:invoice_detail", args=["INV-DAYS"]),
            headers={"accept-language": language},
        )
        pages[language] = invoices.content.decode() + details.content.decode()
        dashboard = client.get(reverse("portal:dashboard"), headers={"accept-language": language})
        pages[language] += dashboard.content.decode()

    assert "March 4, 2026" in pages["en"] and "April 3, 2026" in pages["en"]
    assert "4 de marzo de 2026" in pages["es"] and "3 de abril de 2026" in pages["es"]
    assert "March 4, 2026" not in pages["es"]
