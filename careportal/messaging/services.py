"""Sending a message to the agency owner: saved first, then queued for email, in one step."""

from __future__ import annotations

import datetime
import re
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from careportal.accounts import limits
from careportal.accounts.limits import Limit
from careportal.accounts.models import User
from careportal.agencies.models import Agency, StaffRole
from careportal.audit.actions import Action
from careportal.audit.events import record
from careportal.emails.models import EmailKind
from careportal.emails.queue import queue_email
from careportal.messaging.models import Message
from careportal.people import access
from careportal.people.models import Relationship

# Against abuse, counted from the stored messages (accounts.limits).
PER_HOUR = Limit(most=5, within=datetime.timedelta(hours=1))
PER_DAY = Limit(most=20, within=datetime.timedelta(days=1))

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w+)\}")


class RateLimited(Exception):
    """The sender has reached a limit; nothing was saved."""


def fill_template(template: str, values: dict[str, str]) -> str:
    """Return the agency's template with its known placeholders filled.

    Not str.format: the owner writes the template, and a stray brace, an unknown name or
    `{owner_name.__class__}` must neither crash the page nor reach into Python objects.
    Unknown placeholders are left as written; `{{` and `}}` stand for single braces.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return match.group(0)[0]
        return values.get(name, match.group(0))

    return _PLACEHOLDER.sub(fill, template)


def one_line(text: str) -> str:
    """Return the text on one line: a subject can never carry another email header."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def sender_name(user: User, rels: dict[str, list[Any]]) -> str:
    if rels["client"]:
        client_name: str = rels["client"][0].full_name
        return client_name
    if rels["contacts"]:
        contact_name: str = rels["contacts"][0].name
        return contact_name
    return user.get_full_name() or user.username


def relationship_label(rels: dict[str, list[Any]]) -> str:
    """Return how the sender stands to the agency: "client", "daughter of Margaret Hale", ..."""
    labels = []
    if rels["client"]:
        labels.append(_("client"))
    for contact in rels["contacts"]:
        # A word of the list reads in the sentence's language, in lower case ("hija de ...");
        # the family's own words stay as typed.
        words = contact.relationship_name
        if contact.relationship != Relationship.OTHER:
            words = words.lower()
        labels.append(
            _("%(relationship)s of %(client)s")
            % {"relationship": words, "client": contact.client.full_name}
        )
    labels.extend(payer.name for payer in rels["payers"])
    labels.extend(community.name for community in rels["communities"])
    return ", ".join(labels)


def _agency_of(user: User) -> Agency:
    """Return the sender's agency: only portal logins, each of one agency, write to it."""
    agency = user.agency
    assert agency is not None, "a portal login belongs to an agency"
    return agency


def draft_for(user: User) -> dict[str, str]:
    """Return the subject and body of a new message, from the agency's template."""
    rels = access.relationships(user)
    agency = _agency_of(user)
    values = {
        "owner_name": agency.owner_name,
        "sender_name": sender_name(user, rels),
        "relationship": relationship_label(rels),
        "agency_name": agency.name,
    }
    # In the sender's language: the page's, which follows their choice.
    subject, body = agency.message_template(translation.get_language() or "en")
    return {
        "subject": one_line(fill_template(subject, values))[:200],
        "body": fill_template(body, values),
    }


def owner_language(agency: Agency) -> str | None:
    """Return the language saved on the owner's login, or None (the email is in English)."""
    return (
        User.objects.filter(agency=agency, is_active=True, staff_membership__role=StaffRole.OWNER)
        .exclude(language="")
        .order_by("pk")
        .values_list("language", flat=True)
        .first()
    )


def limit_reached(user: User) -> str | None:
    """Return why the user may not send now, or None."""
    sent = Message.objects.filter(agency=_agency_of(user), sender=user)
    limit = limits.reached(sent, PER_HOUR, PER_DAY)
    if limit == PER_HOUR:
        return _(
            "You have sent %(count)d messages in the last hour, the most allowed. "
            "Please try again later, or call the agency."
        ) % {"count": limit.most}
    if limit == PER_DAY:
        return _(
            "You have sent %(count)d messages today, the most allowed. "
            "Please try again tomorrow, or call the agency."
        ) % {"count": limit.most}
    return None


def send_message_to_owner(
    *, user: User, subject: str, body: str, request: HttpRequest | None
) -> Message:
    """Save the message, record it and queue its email to the agency; all or nothing.

    Raises RateLimited, with nothing saved, once the sender has reached a limit.
    """
    agency = _agency_of(user)
    rels = access.relationships(user)
    with transaction.atomic():
        # One sender at a time: two tabs sending at once cannot both slip under the limit.
        limits.lock_login(user)
        reason = limit_reached(user)
        if reason:
            raise RateLimited(reason)
        message = Message.objects.create(
            agency=agency,
            sender=user,
            sender_name=sender_name(user, rels)[:200],
            sender_email=user.email,
            relationship=relationship_label(rels)[:200],
            subject=one_line(subject)[:200],
            body=body,
            # Recipients come from the agency record, never from what the user typed.
            recipient=agency.portal_message_email,
        )
        record(Action.MESSAGE_SENT, request=request, actor=user, agency=agency, obj=message)
        message.email = queue_email(
            name="owner_message",
            to=message.recipient,
            context={"message": message},
            reply_to=one_line(message.sender_email) or None,
            language=owner_language(agency),
            agency=agency,
            kind=EmailKind.MESSAGE,
        )
        message.save(update_fields=["email"])
    return message
