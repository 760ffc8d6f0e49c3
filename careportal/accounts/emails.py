"""Account emails (reset link, notices), queued in the post_office outbox.

They go through invitations.emails.queue_email, like every email of the product: the
outbox row is written in the caller's transaction, so a rolled-back change sends nothing,
and the worker delivers it with retries.
"""

from __future__ import annotations

from typing import Any

from careportal.invitations.emails import queue_email
from careportal.invitations.models import EmailKind

# What the back office's list of emails calls each template; the others are notices.
KINDS = {"password_reset": EmailKind.RESET, "email_confirm": EmailKind.CONFIRM}


def queue_account_email(*, to: str, template: str, context: dict[str, Any], user: Any) -> None:
    """Queue the email of templates accounts/email/<template>_{subject,body}.{txt,html}."""
    queue_email(
        to=to,
        subject_template=f"accounts/email/{template}_subject.txt",
        text_template=f"accounts/email/{template}_body.txt",
        html_template=f"accounts/email/{template}_body.html",
        context={"user": user, **context},
        language=getattr(user, "language", "") or None,
        agency=getattr(user, "agency", None),
        kind=KINDS.get(template, EmailKind.NOTICE),
    )
