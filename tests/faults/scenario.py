"""What the fault tests ask of the database, run in a process of its own.

`python -m tests.faults.scenario queue 1000 [refused@mail.example]` makes an agency with as
many clients and queues their invitations; `... check` reads {"username": "one-time
password"} as JSON on stdin and prints which of them open the login's current invitation.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "queue":
        queue(int(args[0]), *args[1:])
    elif command == "check":
        check()
    else:
        raise SystemExit(f"Unknown command {command!r}: queue or check.")
