"""Account emails (reset link, notices), queued in the post_office outbox.

They go through emails.queue.queue_email, like every email of the product: the
outbox row is written in the caller's transaction, so a rolled-back change sends nothing,
and the worker delivers it with retries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from careportal.emails.models import EmailKind
from careportal.emails.queue import queue_email

if TYPE_CHECKING:
    from careportal.accounts.models import User

# What the back office's list of emails calls each template; the others are notices.
KINDS = {"password_reset": EmailKind.RESET, "email_confirm": EmailKind.CONFIRM}


def queue_account_email(*, to: str, template: str, context: dict[str, Any], user: User) -> None:
    """Queue the email `template` (templates emails/<template>_subject.txt, _body.txt,
    _body.html) to a login, in its language, recorded for its agency."""
    queue_email(
        name=template,
        to=to,
        context={"user": user, **context},
        language=getattr(user, "language", "") or None,
        agency=getattr(user, "agency", None),
        kind=KINDS.get(template, EmailKind.NOTICE),
    )
