"""An import whose worker stopped while it ran: failed, with what to do next.

The import runs in one transaction (services.run_import), so a worker killed while it ran
saved nothing of the file. The worker that finds the task abandoned (emails.abandoned)
calls `fail_abandoned_import`: the import's page then says that nothing was saved and why,
and offers to check the file again (a failed import cannot be started again).
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from careportal.imports.models import UNDER_WAY, ClientImport, ImportState

TASK_PATH = "careportal.imports.tasks.run_client_import"


def fail_abandoned_import(import_id: int) -> None:
    """Mark the import failed if it is still under way (queued or running)."""
    ClientImport.objects.filter(pk=import_id, state__in=UNDER_WAY).update(
        state=ImportState.FAILED,
        failure=_(
            "The import stopped before it finished, because the server's background worker "
            "stopped. Nothing was saved. Upload the file again to import it."
        ),
        finished_at=timezone.now(),
    )
