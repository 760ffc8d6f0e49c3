"""The floor views: behind sign-in, tiny, and one query for the table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from careportal.builders import make_agency, make_login
from careportal.scheduling.models import Caregiver
from tests.cast import PASSWORD

pytestmark = pytest.mark.urls("bench.urls")


@pytest.fixture
def bench_templates(settings):
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [
        {**engine, "DIRS": [*engine["DIRS"], settings.BASE_DIR / "bench" / "templates"]}
    ]


@pytest.mark.django_db
def test_it_sends_a_stranger_to_sign_in(client):
    response = client.get("/bench/floor/")

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.django_db
def test_it_answers_the_bare_floor_to_a_signed_in_login(client):
    client.force_login(make_login(make_agency(), "floor.user", password=PASSWORD))

    response = client.get("/bench/floor/")

    assert response.status_code == 200
    assert len(response.content) < 100


@pytest.mark.django_db
def test_it_renders_25_rows_of_the_agency_in_one_query(client, bench_templates):
    agency, other = make_agency(), make_agency("Harbor Care")
    for n in range(30):
        Caregiver.objects.create(agency=agency, first_name=f"Carla{n}", last_name="Giver")
    Caregiver.objects.create(agency=other, first_name="Henry", last_name="Helper")
    client.force_login(make_login(agency, "floor.user", password=PASSWORD))
    client.get("/bench/floor/")  # the session's own queries settle first

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/bench/floor-table/")

    assert response.status_code == 200
    assert response.content.count(b"<tr><td>") == 25
    assert b"Henry" not in response.content
    caregiver_queries = [q for q in queries if "scheduling_caregiver" in q["sql"]]
    assert len(caregiver_queries) == 1
