"""An emergency contact's relationship comes from a list, or the family's own words."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from careportal.people.models import EmergencyContact, Relationship


def test_it_shows_a_list_relationship_in_the_readers_language(cast):
    ellen = EmergencyContact.objects.filter(user=cast.ellen).first()

    assert ellen.relationship_name == "Daughter"
    with translation.override("es"):
        assert ellen.relationship_name == "Hija"


def test_it_asks_for_the_words_when_the_relationship_is_other(cast):
    contact = EmergencyContact(
        agency=cast.sunrise, client=cast.margaret, name="Gina", relationship=Relationship.OTHER
    )

    with pytest.raises(ValidationError) as raised:
        contact.full_clean()

    assert "relationship_other" in raised.value.message_dict
    contact.relationship_other = "Goddaughter"
    contact.full_clean()
    assert contact.relationship_name == "Goddaughter"


def test_it_drops_stray_words_when_a_list_entry_is_chosen(cast):
    contact = EmergencyContact(
        agency=cast.sunrise,
        client=cast.margaret,
        name="Gina",
        relationship=Relationship.NIECE,
        relationship_other="left over",
    )

    contact.full_clean()

    assert contact.relationship_other == ""
    assert str(contact) == "Gina (Niece)"


def test_it_moves_the_typed_relationships_onto_the_list(cast):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("careportal.people.migrations.0005_relationship_from_a_list")
    typed = {"Neighbour": "neighbor", " wife ": "spouse", "Daughter-in-law": "daughter_in_law"}
    for words in [*typed, "Godmother"]:
        EmergencyContact.objects.create(
            agency=cast.sunrise, client=cast.margaret, name=f"Typed {words}", relationship=words
        )

    migration.to_list(apps, None)

    for words, key in typed.items():
        contact = EmergencyContact.objects.get(name=f"Typed {words}")
        assert (contact.relationship, contact.relationship_other) == (key, "")
    godmother = EmergencyContact.objects.get(name="Typed Godmother")
    assert (godmother.relationship, godmother.relationship_other) == ("other", "Godmother")
