"""The records the browser journeys make (tests/journeys/records.py), checked without a browser.

Here, not in tests/journeys/: while the journeys' browser runs, Django refuses the ORM in the
main thread, and these tests read the database.
"""

from __future__ import annotations

import pytest

from careportal.accounts.models import User
from careportal.agencies.models import Agency
from careportal.billing.models import Invoice
from careportal.invitations.models import Invitation
from careportal.scheduling.models import Visit
from tests.cast import PASSWORD, build_cast
from tests.journeys import records
from tests.journeys.run_record import run


@pytest.fixture
def sunrise(db, settings) -> Agency:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return build_cast().sunrise


def test_it_makes_a_client_and_her_son_who_sees_her_care(sunrise: Agency) -> None:
    people = records.client_and_son("privacy")

    mother = User.objects.get(username=people["mother"])
    son = User.objects.get(username=people["son"])
    assert (mother.get_full_name(), son.get_full_name()) == ("Priya Privacy", "Sol Privacy")
    assert son.check_password(PASSWORD)
    assert list(Invoice.objects.visible_to(son).values_list("number", flat=True)) == [
        people["invoice"]
    ]
    assert Visit.objects.get(client__user=mother).service == "Bathing"


def test_it_invites_each_family_role_who_sees_only_its_own_invoices(sunrise: Agency) -> None:
    family = records.family("fam")

    for person in family.values():
        invitation = Invitation.objects.get(email=person["email"])
        visible = Invoice.objects.visible_to(invitation.user).values_list("number", flat=True)
        assert person["invoice"] in visible
        assert not set(person["other_invoices"]) & set(visible)


def test_it_runs_only_the_functions_written_in_records(sunrise: Agency) -> None:
    made = run("login", {"username": "ola.once", "invoices": 1})

    assert made["invoices"] == ["OLA.ONCE-0"]
    for name in ("send_mail", "_sunrise", "datetime", "nothing_at_all"):
        with pytest.raises(SystemExit, match="records.py has no function"):
            run(name, {})
