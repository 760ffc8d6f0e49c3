"""The invitation in Spanish, end to end: the email, Change Password and the Dashboard.

A person whose account is in Spanish gets the invitation in Spanish and, with a browser
that asks for Spanish, reads every page of the way in it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.journeys.browser import axe_violations, describe_violations
from tests.journeys.server import JourneyServer
from tests.journeys.steps import open_invitation

pytestmark = pytest.mark.browser


@pytest.fixture
def spanish_page(browser: Browser, journey_server: JourneyServer) -> Iterator[Page]:
    context: BrowserContext = browser.new_context(
        base_url=journey_server.url, locale="es-US", timezone_id="UTC"
    )
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_it_takes_a_spanish_reader_from_the_email_to_the_dashboard(
    spanish_page: Page, journey_server: JourneyServer
) -> None:
    page = spanish_page
    journey_server.record(
        "invite_client",
        first_name="Rosario",
        last_name="Viaje",
        email="rosario@mail.example",
        language="es",
    )
    mail = journey_server.mailbox.wait_for("rosario@mail.example", timeout=30)
    username = mail.find(r"(?m)^Nombre de usuario: (\S+)")
    otp = mail.find(r"(?m)^Contraseña de un solo uso: (\S+)")
    link = next(url for url in mail.links() if "/accounts/setup/" in url)
    assert username == "rosario.viaje"

    open_invitation(page, link, title="Cambiar la contraseña")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1, name="Cambiar la contraseña")).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)
    page.get_by_label("Contraseña actual", exact=True).fill(otp)
    page.get_by_label("Nueva contraseña", exact=True).fill("Jardín de primavera 5 tulipanes!")
    expect(page.locator("[data-rule=min_length].is-met")).to_have_count(1)
    page.get_by_label("Confirmar contraseña", exact=True).fill("Jardín de primavera 5 tulipanes!")
    page.get_by_label("Pregunta de seguridad").select_option("first_pet")
    page.get_by_label("Respuesta", exact=True).fill("Canela")
    with page.expect_navigation():
        page.get_by_role("button", name="Guardar mi nueva contraseña").click()

    expect(page).to_have_url(f"{journey_server.url}/")
    expect(page.get_by_role("heading", level=1, name="Inicio")).to_be_visible()
    expect(page.get_by_role("link", name="Facturas", exact=True)).to_be_visible()
    violations = axe_violations(page)
    assert violations == [], describe_violations(violations)
