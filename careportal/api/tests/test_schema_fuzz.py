"""Schemathesis against the API on a real server: every operation, with a real key.

The server is the journeys' (tests/journeys/server.py): `runserver` on a fresh SQLite file
with the shared cast, on a free loopback port. Schemathesis reads `/api/v1/openapi.json`,
calls every operation with data made from the schema (valid and not), and checks each
answer: no server error, and status, content type, headers and body as the schema says.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.journeys.server import JourneyServer

CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
# One schemathesis process per group of operations, side by side: its own threads trip over
# each other in hypothesis (CPython 3.11's ast is not thread-safe), processes do not.
# Each group with the number of operations it has: six a resource, and an invoice's two.
GROUPS = (
    ("clients|emergency-contacts", 12),
    ("payers|payer-people", 12),
    ("communities|community-people", 12),
    ("client-payers|residences", 12),
    ("caregivers|visits", 12),
    ("service-plans|payments", 12),
    ("invoices", 8),
)
MAKE_KEY = (
    "from careportal.agencies.models import Agency; "
    "from careportal.api.services import create_api_key; "
    "agency = Agency.objects.get(name='Sunrise Home Care'); "
    "scopes = ['people:write', 'scheduling:write', 'careplans:write', 'billing:write']; "
    "print('KEY', create_api_key(agency=agency, name='Fuzz', scopes=scopes)[1])"
)


class ApiServer(JourneyServer):
    @property
    def env(self) -> dict[str, str]:
        # Schemathesis calls far faster than any integration: no rate limit in its way.
        return {**super().env, "API_RATE_LIMIT_PER_MINUTE": "1000000"}


@pytest.fixture(scope="module")
def server() -> Iterator[ApiServer]:
    with ApiServer(data="cast") as running:
        yield running


def _schema(server: ApiServer, key: str, folder: Path) -> Path:
    """Return the API's schema saved to a file: read once, rather than by each of the
    schemathesis processes started together (on two cores they waited past its timeout
    for the server's first answer)."""
    request = urllib.request.Request(  # noqa: S310 (our own server, on loopback)
        f"{server.url}/api/v1/openapi.json", headers={"Authorization": f"Bearer {key}"}
    )
    with urllib.request.urlopen(request, timeout=120) as answer:  # noqa: S310
        schema = answer.read()
    path = folder / "openapi.json"
    path.write_bytes(schema)
    return path


def _schemathesis(
    server: ApiServer, schema: Path, key: str, group: str, report: Path
) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 (our own test tool, arguments from our code)
        [
            str(Path(sys.executable).with_name("st")), "run", str(schema),
            "--url", server.url,
            "--header", f"Authorization: Bearer {key}",
            "--include-path-regex", f"^/api/v1/({group})(/|$)",
            "--checks", ",".join(CHECKS),
            "--phases", "examples,coverage,fuzzing",
            "--max-examples", "10",
            "--workers", "1",
            "--seed", "20261202",
            "--suppress-health-check", "all",
            "--request-timeout", "30",
            "--report", "junit", "--report-dir", str(report),
        ],
        # Its working files (.hypothesis, .schemathesis) go to the test's folder, not the tree.
        cwd=report.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_it_finds_no_server_error_and_no_answer_outside_the_schema(server, tmp_path: Path):
    output = server.manage("shell", "-c", MAKE_KEY)
    key = next(line for line in output.splitlines() if line.startswith("KEY "))[4:]

    schema = _schema(server, key, tmp_path)
    runs = [
        (_schemathesis(server, schema, key, group, tmp_path / str(n)), operations)
        for n, (group, operations) in enumerate(GROUPS)
    ]
    results = [(run.communicate(timeout=600)[0], run.returncode, count) for run, count in runs]

    for text, returncode, operations in results:
        assert returncode == 0, text[-12000:] + "\n" + server.log("server", tail=4000)
        assert "passed" in text and f"Tested: {operations}" in text, text[-3000:]
