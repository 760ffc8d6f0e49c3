"""Settings for the test suite: development turned on explicitly, as `make run` does.

CarePortal starts closed (DEBUG off) unless told otherwise; the tests run the development
configuration, so they set DEBUG=true before the project's settings read the environment.
Subprocesses the tests start (servers, workers, manage.py) inherit it.
"""

import os

os.environ["DEBUG"] = "true"

from careportal.settings import *  # noqa: E402, F403
