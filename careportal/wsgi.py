"""WSGI entry point for gunicorn: `gunicorn careportal.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "careportal.settings")

application = get_wsgi_application()
