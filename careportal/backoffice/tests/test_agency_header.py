"""Staff see which agency's back office they are in: header, landing page and page title."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as BrowserClient
from django.urls import reverse
from PIL import Image

from careportal.backoffice.tests.conftest import sign_in

pytestmark = pytest.mark.django_db


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "navy").save(buffer, format="PNG")
    return SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")


def test_it_names_the_agency_in_the_header_index_and_title(cast):
    browser = sign_in(BrowserClient(), cast.scheduler)

    response = browser.get(reverse("backoffice:index"))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<div id="site-name">' in page
    assert "Sunrise Home Care back office</a></div>" in page
    assert "<h1>Sunrise Home Care</h1>" in page
    assert "<title>Sunrise Home Care | Sunrise Home Care back office</title>" in page
    assert "Your agency" not in page
    assert "Harbor Care" not in page


def test_it_shows_the_agency_of_the_signed_in_staff_member(cast):
    browser = sign_in(BrowserClient(), cast.harriet)

    page = browser.get(reverse("backoffice:index")).content.decode()

    assert "Harbor Care back office" in page
    assert "Sunrise Home Care" not in page


def test_it_shows_the_agency_logo_in_the_header_when_there_is_one(cast):
    cast.sunrise.logo = _png()
    cast.sunrise.save()
    browser = sign_in(BrowserClient(), cast.owner)

    page = browser.get(reverse("backoffice:index")).content.decode()

    assert f'<img src="{cast.sunrise.logo_link}" alt="" class="backoffice-logo">' in page


def test_it_shows_no_logo_when_the_agency_has_none(cast):
    browser = sign_in(BrowserClient(), cast.owner)

    page = browser.get(reverse("backoffice:index")).content.decode()

    assert "backoffice-logo" not in page.split("</head>")[1]
