"""A copy of a record whose worker stopped while it was made: failed, so the client may ask
again.

The worker that finds the task abandoned (emails.abandoned) calls `fail_abandoned_copy`:
My privacy then says the copy could not be made and offers to ask again, at once rather
than after GIVE_UP_AFTER.
"""

from __future__ import annotations

from careportal.privacy.models import UNDER_WAY, CopyState, RecordCopy

TASK_PATH = "careportal.privacy.tasks.build_record_copy"


def fail_abandoned_copy(copy_id: int) -> None:
    """Mark the copy failed if it is still under way (queued or being made)."""
    RecordCopy.objects.filter(pk=copy_id, state__in=UNDER_WAY).update(state=CopyState.FAILED)
