"""Logos stored before the upload checks get a random name, or are taken off if unsafe."""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from PIL import Image

from careportal.agencies.models import Agency

migration = importlib.import_module("careportal.agencies.migrations.0002_logos_under_random_names")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(buffer, format="PNG")
    return buffer.getvalue()


def _with_logo(cast, name: str, content: bytes) -> Agency:
    cast.sunrise.logo.save(name, ContentFile(content), save=False)
    Agency.objects.filter(pk=cast.sunrise.pk).update(logo=cast.sunrise.logo.name)
    return cast.sunrise


def test_it_moves_an_old_logo_to_a_random_name_and_deletes_the_old_file(cast, media):
    agency = _with_logo(cast, "sunrise.png", _png())
    assert (media / "logos" / "sunrise.png").exists()

    migration.rename_logos(apps, None)

    agency.refresh_from_db()
    name = agency.logo.name.rsplit("/", 1)[1]
    assert migration.RANDOM_NAME.match(name)
    assert (media / "logos" / name).exists()
    assert not (media / "logos" / "sunrise.png").exists()
    with Image.open(media / "logos" / name) as picture:
        assert picture.format == "PNG"


def test_it_takes_off_an_old_logo_that_is_not_a_safe_picture(cast, media):
    agency = _with_logo(cast, "logo.pdf", b"GIF89a not really a picture")

    migration.rename_logos(apps, None)

    agency.refresh_from_db()
    assert not agency.logo
    assert not (media / "logos" / "logo.pdf").exists()


def test_it_leaves_a_logo_that_already_has_a_random_name(cast, media):
    agency = _with_logo(cast, "Abcdefghijklmnopqrstuvwx.png", _png())

    migration.rename_logos(apps, None)

    agency.refresh_from_db()
    assert agency.logo.name == "logos/Abcdefghijklmnopqrstuvwx.png"
