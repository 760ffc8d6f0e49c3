"""Settings of the benchmark: the project's production settings on the bench database.

DEBUG is off, as in production; the floor views are added through `bench.urls`. Requests
are made as if through the TLS proxy (`X-Forwarded-Proto: https`, the test client's
`secure=True`), so the production redirects and secure cookies stay as they are.
"""

import os

DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/careportal_bench"
BENCH_DATABASE_URL = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_BENCH_DATABASE_URL

# Before the project's settings read the environment; gunicorn inherits the same values.
os.environ["DEBUG"] = "false"
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
os.environ.setdefault(
    "SECRET_KEY", "bench-only-secret-key-never-used-anywhere-else-0123456789abcdefghij"
)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
os.environ.setdefault("SITE_URL", "https://127.0.0.1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

from careportal.settings import *  # noqa: E402, F403
from careportal.settings import BASE_DIR, STORAGES, TEMPLATES  # noqa: E402

ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BASE_DIR / "bench" / "templates"]
# The manifest storage needs `collectstatic` first; pages name the same files either way.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Whitenoise serves from the source folders: no STATIC_ROOT to collect into for a benchmark.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
