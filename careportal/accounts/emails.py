"""Account emails (reset link, notices), queued in the post_office outbox.

mail.send writes the outbox row in the caller's transaction, so a rolled-back change
sends nothing, and the worker delivers it with retries.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from post_office import mail


def queue_account_email(*, to: str, template: str, context: dict[str, Any], user: Any) -> None:
    """Queue the email of templates accounts/email/<template>_{subject,body}.{txt,html}."""
    context = {"site_url": settings.SITE_URL, "user": user, **context}
    context.setdefault("agency", getattr(user, "agency", None))
    with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
        subject = render_to_string(f"accounts/email/{template}_subject.txt", context)
        text = render_to_string(f"accounts/email/{template}_body.txt", context)
        html = render_to_string(f"accounts/email/{template}_body.html", context)
    mail.send(
        recipients=[to],
        sender=settings.DEFAULT_FROM_EMAIL,
        subject=" ".join(subject.split()),
        message=text,
        html_message=html,
        priority="medium",
    )
