"""The agency's time zone, as people say it."""

from django.urls import reverse
from django.utils import translation

from careportal.agencies.models import Agency


def test_it_names_a_us_time_zone_as_people_say_it():
    assert Agency(time_zone="America/New_York").time_zone_name == "Eastern Time"
    assert Agency(time_zone="America/Los_Angeles").time_zone_name == "Pacific Time"
    with translation.override("es"):
        assert Agency(time_zone="America/Chicago").time_zone_name == "hora del Centro"


def test_it_names_another_time_zone_by_its_place():
    assert Agency(time_zone="America/Argentina/Buenos_Aires").time_zone_name == "Buenos Aires"


def test_it_tells_the_calendar_reader_the_time_zone_in_words(client, cast):
    client.force_login(cast.margaret.user)

    body = client.get(reverse("scheduling:calendar")).content.decode()

    assert "Times are in Eastern Time." in body
    assert "America/New_York" not in body
