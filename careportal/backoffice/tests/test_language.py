"""Staff choose the back office's language in its footer, as portal users do in theirs."""

from __future__ import annotations

from django.urls import reverse

from careportal.backoffice.tests.conftest import sign_in


def test_it_offers_the_language_form_and_shows_the_back_office_in_spanish(client, cast):
    sign_in(client, cast.owner)
    home = reverse("backoffice:index")

    page = client.get(home).content.decode()
    assert '<label for="language-select">Language</label>' in page
    assert "Calendar and visits" in page  # the section of caregivers and visits

    client.post(reverse("set_language"), {"language": "es", "next": home})
    page = client.get(home).content.decode()

    assert '<label for="language-select">Idioma</label>' in page
    assert "Calendario y visitas" in page
    assert "Calendar and visits" not in page


def test_it_names_the_filter_boxs_language_in_each_language(client, cast):
    """The autocomplete filter's box, built once per language, tells select2 the page's."""
    sign_in(client, cast.owner)
    visits = reverse("backoffice:scheduling_visit_changelist")
    assert 'lang="en"' in client.get(visits).content.decode()
    client.post(reverse("set_language"), {"language": "es", "next": visits})
    page = client.get(visits).content.decode()
    assert 'class="admin-autocomplete"' in page
    assert 'lang="es"' in page
