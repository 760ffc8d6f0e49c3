"""Settings of the processes that the fault tests start: the test settings, with the
outbox's intervals cut from minutes to seconds so that a retry fits in a test."""

from datetime import timedelta

from tests.settings import *  # noqa: F403

OUTBOX_RETRY_INTERVAL = timedelta(seconds=4)
OUTBOX_CLAIM_TIMEOUT = timedelta(seconds=4)
EMAIL_TIMEOUT = 5
POST_OFFICE = {**POST_OFFICE, "RETRY_INTERVAL": OUTBOX_RETRY_INTERVAL}  # noqa: F405
LOGGING = {"version": 1, "disable_existing_loggers": False}
