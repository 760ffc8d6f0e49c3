"""What the fault tests ask of the database, run in a process of its own.

`python -m tests.faults.scenario queue 1000 [refused@mail.example]` makes an agency with as
many clients and queues their invitations; `... check` reads {"username": "one-time
password"} as JSON on stdin and prints which of them open the login's current invitation;
`... import 5000` makes an agency, checks a CSV file of as many clients (each with a contact)
as the back office does, and presses "Import all".
"""

from __future__ import annotations

import csv
import io
import json
import sys


def queue(count: int, *extra_emails: str) -> None:
    from careportal.agencies.models import Agency
    from careportal.invitations.services import invite_parties
    from careportal.people.models import Client

    agency = Agency.objects.create(name=f"Fault Care {Agency.objects.count() + 1}")
    emails = [f"person{n}.{agency.pk}@mail.example" for n in range(count - len(extra_emails))]
    clients = Client.objects.bulk_create(
        Client(agency=agency, first_name="Pat", last_name=f"Doe{n}", email=email)
        for n, email in enumerate([*emails, *extra_emails])
    )
    summary = invite_parties(agency=agency, parties=clients)
    print(json.dumps({"invited": len(summary.invited)}))


def check() -> None:
    from careportal.invitations.services import authenticate_one_time_password

    pairs = json.load(sys.stdin)
    opened = [
        username
        for username, otp in pairs.items()
        if authenticate_one_time_password(username_or_user=username, password=otp) is not None
    ]
    print(json.dumps({"opened": opened}))


def start_import(count: int) -> None:
    from careportal.agencies.models import Agency
    from careportal.imports import clients
    from careportal.imports.services import preview_client_import, start_client_import

    agency = Agency.objects.create(name=f"Fault Care {Agency.objects.count() + 1}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=clients.COLUMNS, restval="")
    writer.writeheader()
    for n in range(count):
        writer.writerow({
            "external_id": f"F-{n}",
            "first_name": "Iris",
            "last_name": f"Doe{n}",
            "email": f"iris{n}.{agency.pk}@mail.example",
            "status": "active",
            "contact_1_name": f"Ivy Doe{n}",
            "contact_1_relationship": "daughter",
            "contact_1_email": f"ivy{n}.{agency.pk}@mail.example",
        })  # fmt: skip
    client_import = preview_client_import(
        agency=agency, data=out.getvalue().encode(), file_name="clients.csv"
    )
    assert not client_import.errors, client_import.errors[:3]
    start_client_import(client_import=client_import)
    print(json.dumps({"import": client_import.pk, "agency": agency.pk}))


if __name__ == "__main__":
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "queue":
        queue(int(args[0]), *args[1:])
    elif command == "check":
        check()
    elif command == "import":
        start_import(int(args[0]))
    else:
        raise SystemExit(f"Unknown command {command!r}: queue, check or import.")
