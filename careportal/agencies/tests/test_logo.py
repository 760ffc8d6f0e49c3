"""The agency logo is served by the app, publicly, at an address that names the file."""

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from careportal.emails.queue import agency_logo_url
from tests.cast import TINY_PNG


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _with_logo(agency, name="sunrise.png"):
    agency.logo.save(name, ContentFile(TINY_PNG), save=True)
    return agency


def test_it_serves_the_logo_to_anyone_with_long_cache_headers(client, cast, media):
    agency = _with_logo(cast.sunrise)

    response = client.get(agency.logo_link)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PNG
    assert response["Content-Type"] == "image/png"
    cache = response["Cache-Control"]
    assert "public" in cache and "max-age=31536000" in cache and "no-store" not in cache


def test_the_address_names_the_stored_file(cast, media):
    agency = _with_logo(cast.sunrise)

    assert agency.logo_link == reverse("agencies:logo", args=[agency.logo.name.rsplit("/", 1)[-1]])
    assert agency.logo_link == "/agency-logo/sunrise.png/"
    assert "/media/" not in agency.logo_link


def test_a_signed_in_user_gets_the_cacheable_logo_too(client, cast, media):
    agency = _with_logo(cast.sunrise)
    client.force_login(cast.margaret.user)

    response = client.get(agency.logo_link)

    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]


def test_an_address_of_the_former_kind_leads_to_the_logo_it_names(client, cast, media):
    agency = _with_logo(cast.sunrise)
    name = agency.logo.name.rsplit("/", 1)[-1]

    response = client.get(reverse("agencies:old_logo_address", args=[agency.pk, name]))

    assert response.status_code == 302
    assert response["Location"] == agency.logo_link


def test_the_agency_ids_cannot_be_walked(client, cast, media):
    # Without the file's name, an id answers nothing: not which agencies exist, not a logo.
    _with_logo(cast.sunrise)
    _with_logo(cast.harbor, "harbor.png")
    for agency_id in (cast.sunrise.pk, cast.harbor.pk, 999999):
        response = client.get(reverse("agencies:old_logo_address", args=[agency_id, "logo.png"]))
        assert response.status_code == 404


def test_it_is_404_without_a_logo(client, cast, media):
    response = client.get(reverse("agencies:logo", args=["logo.png"]))

    assert response.status_code == 404


def test_it_serves_a_stored_name_of_another_type_as_a_download(client, cast, media):
    # A logo stored before uploads were checked ("logo.pdf" holding a GIF) is never inline.
    agency = _with_logo(cast.sunrise, "logo.pdf")

    response = client.get(agency.logo_link)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_another_agency_id_answers_that_agencys_logo(client, cast, media):
    # Public branding: a family of Sunrise may load Harbor's logo; nothing private in it.
    harbor = _with_logo(cast.harbor, "harbor.png")
    client.force_login(cast.margaret.user)

    response = client.get(harbor.logo_link)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PNG


def test_the_frame_and_emails_use_the_apps_address(client, cast, media, settings):
    agency = _with_logo(cast.sunrise)
    client.force_login(cast.margaret.user)

    page = client.get(reverse("portal:dashboard")).content.decode()

    assert f'src="{agency.logo_link}"' in page
    assert agency_logo_url(agency) == f"{settings.SITE_URL}{agency.logo_link}"
    assert agency_logo_url(cast.harbor) == ""
