"""Configuration comes from the environment; a bad value stops the start and names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(**variables: str) -> subprocess.CompletedProcess:
    unset = ("DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL", "MEDIA_ROOT")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(variables)
    return subprocess.run(
        [sys.executable, "-c", "import careportal.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DEBUG": "true", "DATABASE_URL": "foo://x"}, "DATABASE_URL"),
        ({"DEBUG": "true", "TIME_ZONE": "Mars/Base"}, "TIME_ZONE"),
        (
            {
                "SECURE_HSTS_SECONDS": "a year",
                "DEBUG": "false",
                "SECRET_KEY": "x" * 50,
                "ALLOWED_HOSTS": "portal.example.org",
                "SITE_URL": "https://portal.example.org",
            },
            "SECURE_HSTS_SECONDS",
        ),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"DEBUG": "true", "SITE_URL": "portal.example.org"}, "SITE_URL"),
    ],
)
def test_it_refuses_a_bad_value_naming_the_variable(variables, named):
    result = _start(**variables)

    assert result.returncode != 0
    assert f"Environment variable {named}" in result.stderr


def test_it_starts_with_the_development_defaults_when_debug_is_on():
    result = _start(DEBUG="true")

    assert result.returncode == 0, result.stderr


PRODUCTION = {
    "SECRET_KEY": "k" * 50,
    "ALLOWED_HOSTS": "portal.example.org",
    "SITE_URL": "https://portal.example.org",
}


def test_it_starts_closed_when_debug_is_not_set():
    result = _start()

    assert result.returncode != 0
    assert "Environment variable SECRET_KEY is required when DEBUG is off" in result.stderr


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "Environment variable SECRET_KEY is required when DEBUG is off"),
        ("ALLOWED_HOSTS", "Environment variable ALLOWED_HOSTS is required when DEBUG is off"),
        ("SITE_URL", "Environment variable SITE_URL is required when DEBUG is off"),
    ],
)
def test_it_refuses_a_production_start_without_a_required_variable(missing, message):
    variables = {k: v for k, v in PRODUCTION.items() if k != missing}

    result = _start(**variables)

    assert result.returncode != 0
    assert message in result.stderr


def test_it_refuses_a_short_secret_key_in_production():
    result = _start(**{**PRODUCTION, "SECRET_KEY": "k" * 49})

    assert result.returncode != 0
    assert "Environment variable SECRET_KEY is too short (49 characters)" in result.stderr


def test_it_starts_in_production_with_the_required_variables():
    result = _start(**PRODUCTION)

    assert result.returncode == 0, result.stderr


def test_it_creates_the_folders_of_the_database_and_uploads(tmp_path):
    database = tmp_path / "elsewhere" / "db" / "portal.sqlite3"
    media = tmp_path / "uploads" / "media"
    code = (
        "import django; from django.conf import settings; django.setup(); "
        "from django.db import connection; connection.ensure_connection()"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MEDIA_ROOT")}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{database}", MEDIA_ROOT=str(media))
    env["DJANGO_SETTINGS_MODULE"] = "careportal.settings"

    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert database.exists()
    assert media.is_dir()
