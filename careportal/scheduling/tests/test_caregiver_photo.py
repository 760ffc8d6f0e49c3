"""A caregiver's photo: only when the agency allows it, only to families the caregiver visits."""

import datetime

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from careportal.builders import make_visit
from careportal.scheduling.models import Caregiver
from tests.cast import TINY_PNG


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _with_photo(caregiver, allowed=True):
    caregiver.photo.save(f"{caregiver.first_name}.png", ContentFile(TINY_PNG), save=False)
    caregiver.show_photo_to_families = allowed
    caregiver.save()
    return caregiver


def _visit(client, caregiver):
    return make_visit(client, caregiver, timezone.now() + datetime.timedelta(days=1))


def _url(caregiver):
    return reverse("scheduling:caregiver_photo", args=[caregiver.pk])


def test_margaret_sees_carlas_photo_when_allowed_and_carla_visits_her(client, cast, media):
    carla = _with_photo(cast.caregiver)
    _visit(cast.margaret, carla)
    client.force_login(cast.margaret.user)

    response = client.get(_url(carla))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == TINY_PNG
    assert response["Content-Type"] == "image/png"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_the_dashboard_shows_the_photo_through_the_view(client, cast, media):
    carla = _with_photo(cast.caregiver)
    _visit(cast.margaret, carla)
    client.force_login(cast.margaret.user)

    page = client.get(reverse("portal:dashboard")).content.decode()

    assert f'src="{_url(carla)}"' in page
    assert "/media/" not in page


def test_it_is_404_when_the_agency_does_not_allow_it(client, cast, media):
    carla = _with_photo(cast.caregiver, allowed=False)
    _visit(cast.margaret, carla)
    client.force_login(cast.margaret.user)

    assert client.get(_url(carla)).status_code == 404


def test_it_is_404_for_a_caregiver_who_never_visits_her(client, cast, media):
    carla = _with_photo(cast.caregiver)
    _visit(cast.rosa, carla)  # Carla visits Rosa, whom Margaret may not see
    other = _with_photo(Caregiver.objects.create(agency=cast.sunrise, first_name="Olga"))
    client.force_login(cast.margaret.user)

    assert client.get(_url(carla)).status_code == 404
    assert client.get(_url(other)).status_code == 404


def test_it_is_404_for_harbors_caregiver(client, cast, media):
    _visit(cast.margaret, _with_photo(cast.caregiver))
    henry = _with_photo(cast.harbor_caregiver)
    _visit(cast.hank, henry)
    client.force_login(cast.margaret.user)

    assert client.get(_url(henry)).status_code == 404


def test_it_is_404_without_a_photo(client, cast, media):
    carla = cast.caregiver
    carla.show_photo_to_families = True
    carla.save()
    _visit(cast.margaret, carla)
    client.force_login(cast.margaret.user)

    assert client.get(_url(carla)).status_code == 404


def test_a_contact_of_the_client_sees_it_too(client, cast, media):
    carla = _with_photo(cast.caregiver)
    _visit(cast.margaret, carla)
    client.force_login(cast.tom)

    assert client.get(_url(carla)).status_code == 200


def test_anonymous_is_sent_to_sign_in(client, cast, media):
    carla = _with_photo(cast.caregiver)
    _visit(cast.margaret, carla)

    response = client.get(_url(carla))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
