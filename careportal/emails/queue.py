"""Queueing an email by name: the one way the product sends email.

An email is the triplet of templates `emails/<name>_subject.txt`, `emails/<name>_body.txt`
and `emails/<name>_body.html` (partials: `emails/_base.html`, `emails/_footer.txt`).
`queue_email` writes a django-post-office row in the caller's transaction: a rolled-back
change leaves no email behind, and a committed one is retried by `manage.py run_worker`
until the SMTP server takes it (settings.POST_OFFICE: MAX_RETRIES x RETRY_INTERVAL, more
than a day). Invitations are their own outbox (invitations.outbox), rendered by the same
`render_email`.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from post_office import mail
from post_office.models import Email

from careportal.agencies.models import Agency
from careportal.emails.delivery import wake_worker
from careportal.emails.models import AgencyEmail, EmailKind


def template_names(name: str) -> tuple[str, str, str]:
    """Return the (subject, text body, HTML body) templates of the email called `name`."""
    return (
        f"emails/{name}_subject.txt",
        f"emails/{name}_body.txt",
        f"emails/{name}_body.html",
    )


def render_email(
    name: str,
    *,
    context: dict[str, Any],
    language: str | None = None,
    time_zone: datetime.tzinfo | None = None,
) -> tuple[str, str, str]:
    """Return (subject, text, html) of the email `name`, in the recipient's language
    (English by default), its times in `time_zone` (the agency's), else the server's."""
    subject_template, text_template, html_template = template_names(name)
    context = {"site_url": settings.SITE_URL, **context}
    tz = time_zone or timezone.get_default_timezone()
    with translation.override(language or "en"), timezone.override(tz):
        subject = " ".join(render_to_string(subject_template, context).split())
        text = render_to_string(text_template, context)
        html = render_to_string(html_template, context)
    return subject, text, html


def queue_email(
    *,
    name: str,
    to: str | list[str],
    context: dict[str, Any],
    reply_to: str | None = None,
    language: str | None = None,
    agency: Agency | None = None,
    kind: str = EmailKind.NOTICE,
) -> Email:
    """Record the email `name` for delivery by the worker, inside the caller's transaction.

    `agency` adds the agency's name and logo to the context (the templates' frame uses them),
    and records the email for the agency's staff (an AgencyEmail of this `kind`), so the
    back office shows its delivery.
    """
    if agency is not None:
        context = {"agency": agency, "logo_url": agency_logo_url(agency), **context}
    subject, text, html = render_email(
        name,
        context=context,
        language=language,
        time_zone=agency.tz if agency is not None else None,
    )
    headers = {"Reply-To": reply_to} if reply_to else None
    recipients = [to] if isinstance(to, str) else list(to)
    email = mail.create(
        sender=settings.DEFAULT_FROM_EMAIL,
        recipients=recipients,
        subject=subject,
        message=text,
        html_message=html,
        headers=headers,
        priority="medium",
        commit=True,
    )
    if agency is not None:
        AgencyEmail.objects.create(
            agency=agency,
            email=email,
            recipient=", ".join(recipients)[:1000],
            subject=subject[:255],
            kind=kind,
        )
    wake_worker()
    return email


def agency_logo_url(agency: Agency) -> str:
    """Return the absolute address of the agency's logo, or "" without one."""
    # The app serves it (agencies.views.logo); emails need the absolute address.
    link = agency.logo_link
    return f"{settings.SITE_URL}{link}" if link else ""
