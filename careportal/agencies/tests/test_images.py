"""Uploaded pictures: PNG, JPEG and WebP only, by content; re-encoded; size and pixels capped."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.forms.models import model_to_dict
from PIL import Image

from careportal.agencies.forms import AgencySettingsForm
from careportal.agencies.images import MAX_BYTES, ImageUploadField

SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def _picture(kind="PNG", size=(40, 20), **save):
    out = io.BytesIO()
    mode = "RGB" if kind == "JPEG" else "RGBA"
    Image.new(mode, size, (200, 80, 40)).save(out, format=kind, **save)
    return out.getvalue()


def _clean(name, data, content_type="image/png"):
    return ImageUploadField(required=False).clean(SimpleUploadedFile(name, data, content_type))


@pytest.mark.parametrize(("kind", "extension"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_it_takes_png_jpeg_and_webp_and_stores_a_new_file_under_a_random_name(kind, extension):
    original = _picture(kind)

    stored = _clean("my logo.png", original)

    assert stored.name.endswith(f".{extension}") and "logo" not in stored.name
    assert len(stored.name) >= 24
    assert stored.content_type == Image.MIME[kind]
    with Image.open(io.BytesIO(stored.read())) as picture:
        assert picture.format == kind and picture.size == (40, 20)


def test_it_drops_what_rides_along_in_the_file():
    # A PNG with a script after its end (a polyglot) comes out as a clean PNG.
    stored = _clean("logo.png", _picture("PNG") + b"<script>alert(1)</script>")
    assert b"<script>" not in stored.read()


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("logo.svg", SVG, "image/svg+xml"),
        ("logo.png", SVG, "image/png"),
        ("logo.pdf", _picture("GIF"), "application/pdf"),
        ("logo.png", _picture("GIF"), "image/png"),
        ("logo.png", _picture("BMP"), "image/png"),
        ("logo.png", b"%PDF-1.7 not a picture", "image/png"),
    ],
)
def test_it_refuses_any_other_kind_whatever_its_name_says(name, data, content_type):
    with pytest.raises(ValidationError) as caught:
        _clean(name, data, content_type)
    assert caught.value.messages == ["Please choose a PNG, JPEG or WebP picture."]


def test_it_refuses_a_file_over_1_mb():
    big = _picture("PNG") + b"\0" * MAX_BYTES
    with pytest.raises(ValidationError) as caught:
        _clean("logo.png", big)
    assert caught.value.messages == [
        "This picture is too large: please choose one of 1 MB or less."
    ]


def test_it_refuses_too_many_pixels():
    with pytest.raises(ValidationError) as caught:
        _clean("logo.png", _picture("PNG", size=(2001, 10)))
    assert "at most 2000 by 2000 pixels" in caught.value.messages[0]


def test_the_agency_settings_form_uses_it(cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    agency = cast.sunrise
    data = {k: v for k, v in model_to_dict(agency).items() if v is not None and k != "logo"}

    refused = AgencySettingsForm(
        data, {"logo": SimpleUploadedFile("logo.svg", SVG, "image/svg+xml")}, instance=agency
    )
    assert not refused.is_valid()
    assert refused.errors["logo"] == ["Please choose a PNG, JPEG or WebP picture."]
    agency.refresh_from_db()
    assert not agency.logo

    taken = AgencySettingsForm(
        data,
        {"logo": SimpleUploadedFile("logo.png", _picture("PNG"), "image/png")},
        instance=agency,
    )
    assert taken.is_valid(), taken.errors
    taken.save()
    agency.refresh_from_db()
    assert agency.logo.name.startswith("logos/") and agency.logo.name.endswith(".png")
    assert "logo.png" not in agency.logo.name
