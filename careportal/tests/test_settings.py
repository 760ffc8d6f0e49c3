"""Configuration comes from the environment; a bad value stops the start and names the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _start(**variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
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
        ({"DATABASE_URL": "foo://x"}, "DATABASE_URL"),
        ({"TIME_ZONE": "Mars/Base"}, "TIME_ZONE"),
        (
            {
                "SECURE_HSTS_SECONDS": "a year",
                "DEBUG": "false",
                "SECRET_KEY": "x" * 50,
                "ALLOWED_HOSTS": "portal.example.org",
            },
            "SECURE_HSTS_SECONDS",
        ),
        ({"DEBUG": "false"}, "SECRET_KEY"),
        ({"SITE_URL": "portal.example.org"}, "SITE_URL"),
    ],
)
def test_it_refuses_a_bad_value_naming_the_variable(variables, named):
    result = _start(**variables)

    assert result.returncode != 0
    assert f"Environment variable {named}" in result.stderr


def test_it_starts_with_the_development_defaults():
    result = _start()

    assert result.returncode == 0, result.stderr
