"""The audit trail in the back office: the owner reads it; nobody changes or deletes a row."""

from __future__ import annotations

from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.backoffice.tests.conftest import sign_in

LIST = "backoffice:audit_auditevent_changelist"


def _owner_signed_in(client, world):
    # Even an owner who is also a superuser may not change the trail.
    owner = world.cast.owner
    owner.is_superuser = True
    owner.save()
    return sign_in(client, owner)


def test_it_offers_the_owner_no_delete_action_on_the_audit_list(client, world):
    _owner_signed_in(client, world)

    response = client.get(reverse(LIST))

    assert response.status_code == 200
    assert "delete_selected" not in response.context["cl"].model_admin.get_actions(
        response.wsgi_request
    )
    assert b'value="delete_selected"' not in response.content


def test_it_deletes_nothing_when_the_delete_action_is_posted_anyway(client, world):
    event = world.sunrise(AuditEvent)
    _owner_signed_in(client, world)
    before = AuditEvent.objects.count()

    client.post(reverse(LIST), {"action": "delete_selected", "_selected_action": [event.pk]})
    client.post(
        reverse(LIST),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )

    assert AuditEvent.objects.filter(pk=event.pk).exists()
    # Only events the back office itself appended, none removed.
    assert AuditEvent.objects.count() >= before


def test_it_shows_no_save_on_an_audit_row_and_refuses_a_posted_change(client, world):
    event = world.sunrise(AuditEvent)
    _owner_signed_in(client, world)
    url = reverse("backoffice:audit_auditevent_change", args=[event.pk])

    page = client.get(url)
    response = client.post(url, {"action": "forged", "actor_label": "someone", "_save": "Save"})

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert response.status_code == 403
    event.refresh_from_db()
    assert (event.action, event.actor_label) == ("sunbeam.test", world.cast.owner.username)


def test_it_refuses_a_posted_delete_of_an_audit_row(client, world):
    event = world.sunrise(AuditEvent)
    harbor_event = world.harbor(AuditEvent)
    _owner_signed_in(client, world)

    own = client.post(
        reverse("backoffice:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    other = client.post(
        reverse("backoffice:audit_auditevent_delete", args=[harbor_event.pk]), {"post": "yes"}
    )

    assert own.status_code == 403
    assert other.status_code in (302, 403, 404)
    assert AuditEvent.objects.filter(pk__in=[event.pk, harbor_event.pk]).count() == 2
