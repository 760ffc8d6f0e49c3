"""A caregiver's photo is checked like the agency logo: PNG, JPEG or WebP, by content,
re-encoded, capped in size, stored under a random name."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from careportal.agencies.images import MAX_BYTES
from careportal.backoffice.tests.conftest import sign_in

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _picture(kind: str = "PNG", size: tuple[int, int] = (40, 20)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(out, format=kind)
    return out.getvalue()


def _upload(client, caregiver, name: str, data: bytes, content_type: str = "image/png"):
    url = reverse("backoffice:scheduling_caregiver_change", args=[caregiver.pk])
    return client.post(
        url,
        {
            "first_name": caregiver.first_name,
            "last_name": caregiver.last_name,
            "is_active": "on",
            "show_photo_to_families": "on",
            "photo": SimpleUploadedFile(name, data, content_type),
        },
    )


def test_it_stores_a_png_photo_re_encoded_under_a_random_name(client, cast, media):
    sign_in(client, cast.scheduler)

    response = _upload(client, cast.caregiver, "carla smiling.png", _picture())

    assert response.status_code == 302
    cast.caregiver.refresh_from_db()
    stored = cast.caregiver.photo.name
    assert stored.startswith("caregivers/") and stored.endswith(".png")
    assert "carla" not in stored
    with Image.open(cast.caregiver.photo.path) as picture:
        assert picture.format == "PNG" and picture.size == (40, 20)


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("photo.svg", SVG, "image/svg+xml"),
        ("photo.png", SVG, "image/png"),
        ("photo.png", _picture("GIF"), "image/png"),
    ],
    ids=["svg", "svg-named-png", "gif-named-png"],
)
def test_it_refuses_a_photo_that_is_not_png_jpeg_or_webp(
    client, cast, media, name, data, content_type
):
    sign_in(client, cast.scheduler)

    response = _upload(client, cast.caregiver, name, data, content_type)

    assert response.status_code == 200
    assert "Please choose a PNG, JPEG or WebP picture." in response.content.decode()
    cast.caregiver.refresh_from_db()
    assert not cast.caregiver.photo
    assert not list(media.rglob("*"))


def test_it_refuses_a_photo_over_the_size_limit(client, cast, media):
    sign_in(client, cast.scheduler)
    oversize = _picture() + b"\0" * MAX_BYTES

    response = _upload(client, cast.caregiver, "photo.png", oversize)

    assert response.status_code == 200
    assert "This picture is too large" in response.content.decode()
    cast.caregiver.refresh_from_db()
    assert not cast.caregiver.photo
