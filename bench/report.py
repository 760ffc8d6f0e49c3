"""The benchmark's report: docs/benchmarks.md, its chart docs/benchmarks.svg, and
bench/results.json for tools.

results.json holds one record per page and login under "pages", and top-level records
for "throughput", "machine" and "data". Later sections (another issue's email
throughput, say) are added as new top-level keys beside them; readers ignore keys they do
not know.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
from html import escape
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import connection

RESULTS_SCHEMA = 1
DOCS = Path(settings.BASE_DIR) / "docs"
MARKDOWN = DOCS / "benchmarks.md"
CHART = DOCS / "benchmarks.svg"
RESULTS = Path(settings.BASE_DIR) / "bench" / "results.json"


def machine() -> dict[str, Any]:
    """Return what the figures were measured on: CPU, cores, memory, versions, load."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    memory_gb = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    return {
        "cpu": cpu or "unknown",
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "postgresql": postgres,
        "python": platform.python_version(),
        "django": django.get_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def data_sizes() -> dict[str, Any]:
    """Return the rows of the measured agency and of the whole database, counted."""
    from bench.build import MEASURED
    from careportal.accounts.models import User
    from careportal.agencies.models import Agency
    from careportal.billing.models import Invoice, InvoiceLine, Payment
    from careportal.careplans.models import ServicePlan
    from careportal.people.models import (
        Client,
        ClientPayer,
        Community,
        EmergencyContact,
        Payer,
        Residence,
    )
    from careportal.scheduling.models import Caregiver, Visit

    payer = User.objects.get(username=MEASURED["payer"]).payer_person_records.get().payer
    community = User.objects.get(username=MEASURED["community"]).community_person_records.get()
    main = payer.agency
    counted = (
        ("agencies", Agency, None),
        ("logins", User, "agency"),
        ("clients", Client, "agency"),
        ("emergency contacts", EmergencyContact, "agency"),
        ("payers", Payer, "agency"),
        ("communities", Community, "agency"),
        ("caregivers", Caregiver, "agency"),
        ("visits", Visit, "agency"),
        ("service plans", ServicePlan, "agency"),
        ("invoices", Invoice, "agency"),
        ("invoice lines", InvoiceLine, "agency"),
        ("payments", Payment, "agency"),
    )
    rows = {
        name: {
            "agency": model.objects.filter(**{field: main}).count() if field else 1,
            "all": model.objects.count(),
        }
        for name, model, field in counted
    }
    return {
        "agency": main.name,
        "rows": rows,
        "big_payer": {
            "name": payer.name,
            "clients": ClientPayer.objects.filter(payer=payer).count(),
            "invoices": Invoice.objects.filter(bill_to_payer=payer).count(),
        },
        "big_community": {
            "name": community.community.name,
            "residents": Residence.objects.filter(community=community.community).count(),
        },
    }


def results_json(
    pages: list[dict[str, Any]],
    throughput: dict[str, Any] | None,
    *,
    machine_info: dict[str, Any],
    data: dict[str, Any],
    run: dict[str, Any],
    email: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the document written to bench/results.json."""
    return {
        "schema": RESULTS_SCHEMA,
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "run": run,
        "machine": machine_info,
        "data": data,
        "pages": pages,
        "throughput": throughput,
        "email": email,
    }


def chart_svg(pages: list[dict[str, Any]]) -> str:
    """Return a bar chart of each page's ratio to the bare floor, with the 3x and 5x lines.

    Bars longer than the scale are cut and carry their value; failing pages are red.
    """
    rows = [p for p in pages if p["area"] != "floor"]
    label_width, bar_width, row_height, top = 330, 560, 16, 46
    cap = max(6.0, min(30.0, max((p["ratio"] for p in rows), default=6.0) * 1.05))
    height = top + row_height * len(rows) + 30
    width = label_width + bar_width + 90

    def x(ratio: float) -> float:
        return label_width + bar_width * min(ratio, cap) / cap

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="#fff"/>',
        '<text x="10" y="18" font-size="14" font-weight="bold">Median time as a multiple '
        "of the bare floor (same login)</text>",
        '<text x="10" y="32" fill="#555">Green: within its target (3x for a client or a contact, '
        "5x for a payer, a community and the back office); red: over it.</text>",
    ]
    for i, page in enumerate(rows):
        y = top + i * row_height
        colour = "#2e7d32" if page["passed"] else "#c62828"
        label = escape(f"{page['user']}: {page['page']}")
        parts.append(f'<text x="{label_width - 6}" y="{y + 11}" text-anchor="end">{label}</text>')
        parts.append(
            f'<rect x="{label_width}" y="{y + 2}" width="{x(page["ratio"]) - label_width:.1f}" '
            f'height="{row_height - 4}" fill="{colour}"/>'
        )
        value = f"{page['ratio']:.1f}x" + (" (cut)" if page["ratio"] > cap else "")
        parts.append(f'<text x="{x(page["ratio"]) + 4:.1f}" y="{y + 11}">{value}</text>')
    bottom = top + row_height * len(rows)
    for limit, stroke in ((1.0, "#777"), (3.0, "#ef6c00"), (5.0, "#6a1b9a")):
        parts.append(
            f'<line x1="{x(limit):.1f}" y1="{top - 4}" x2="{x(limit):.1f}" y2="{bottom + 4}" '
            f'stroke="{stroke}" stroke-width="1.5" stroke-dasharray="5 3"/>'
        )
        parts.append(
            f'<text x="{x(limit):.1f}" y="{bottom + 18}" text-anchor="middle">{limit:g}x</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _kb(size: int) -> str:
    return f"{size / 1024:.1f}"


def markdown(document: dict[str, Any]) -> str:
    """Return docs/benchmarks.md: the machine, the data, the targets and every figure."""
    m, d, run = document["machine"], document["data"], document["run"]
    pages = document["pages"]
    throughput = document["throughput"]
    portal = [p for p in pages if p["area"] == "portal"]
    backoffice = [p for p in pages if p["area"] == "backoffice"]
    html = [p for p in portal if p["html"]]
    biggest = max(html, key=lambda p: p["bytes"]) if html else None

    def verdict(ok: bool) -> str:
        return "pass" if ok else "**FAIL**"

    lines = [
        "# Benchmarks",
        "",
        "Made by `make bench` (see `bench/`); do not edit by hand. Figures of "
        f"{document['generated_at'][:10]}, on the code of that day.",
        "",
        "Each page is requested in-process (Django's test client, real sessions, DEBUG off)"
        f" in {run['rounds']} interleaved rounds after {run['warmup_rounds']} warm-up"
        " round(s): every round asks every page of every login once, floors included, in a "
        "shuffled order. *Ratio* is the page's median over the bare floor's median for the "
        "same login. Queries are counted once per page.",
        "",
        "![Ratio of each page to the bare floor](benchmarks.svg)",
        "",
        "## Targets",
        "",
        "| target | result |",
        "|---|---|",
    ]
    for role, limit in (("client", 3), ("contact", 3), ("payer", 5), ("community", 5)):
        mine = [p for p in portal if p["user"] == role]
        worst = max(mine, key=lambda p: p["ratio"]) if mine else None
        if worst:
            lines.append(
                f"| every portal page of the {role} within {limit}x the floor | "
                f"{verdict(all(p['ratio'] <= limit for p in mine))} (worst: {worst['page']}, "
                f"{worst['ratio']:.1f}x) |"
            )
    if backoffice:
        worst = max(backoffice, key=lambda p: p["ratio"])
        lines.append(
            f"| back-office lists and change page within 5x | "
            f"{verdict(all(p['ratio'] <= 5 for p in backoffice))} (worst: {worst['page']}, "
            f"{worst['ratio']:.1f}x) |"
        )
    if biggest:
        lines.append(
            f"| no portal page over 200 KB of HTML | "
            f"{verdict(biggest['bytes'] <= 200 * 1024)} (largest: {biggest['user']}, "
            f"{biggest['page']}, {_kb(biggest['bytes'])} KB) |"
        )
    if throughput:
        lines.append(
            f"| page mix throughput at least a third of the floor's | "
            f"{verdict(throughput['passed'])} ({throughput['mix_share_of_floor']:.2f} of it) |"
        )
    lines += [
        "",
        "## Pages",
        "",
        "| login | page | queries | median ms | p95 ms | floor ms | ratio | KB | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in pages:
        target = (
            "" if p["target_ratio"] is None else f"{p['target_ratio']:g}x {verdict(p['passed'])}"
        )
        lines.append(
            f"| {p['user']} | {p['page']} | {p['queries']} | {p['median_ms']:.1f} | "
            f"{p['p95_ms']:.1f} | {p['floor_ms']:.1f} | {p['ratio']:.2f} | {_kb(p['bytes'])} | "
            f"{target} |"
        )
    if throughput:
        floor, mix = throughput["floor"], throughput["mix"]
        lines += [
            "",
            "## Throughput",
            "",
            f"{throughput['server']}; {throughput['load_generator']}; "
            f"{throughput['seconds']} s for each. The mix rotates through: "
            f"{', '.join(mix['pages'])}.",
            "",
            "| run | requests/s | p50 ms | p90 ms | p99 ms | requests | not 200 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, r in (("bare floor", floor), ("page mix", mix)):
            lines.append(
                f"| {name} | {r['requests_per_second']:.1f} | {r.get('p50_ms', 0):.1f} | "
                f"{r.get('p90_ms', 0):.1f} | {r.get('p99_ms', 0):.1f} | {r['requests']} | "
                f"{r['not_200'] + r['socket_errors']} |"
            )
        lines += ["", f"The mix reaches {throughput['mix_share_of_floor']:.2f} of the floor."]
    email = document.get("email")
    if email:
        lines += email_section(email)
    lines += [
        "",
        "## Data",
        "",
        f"Built {d['built_at']} in {d['build_seconds']:.0f} s (migrations included). "
        f"The big payer, {d['big_payer']['name']}: {d['big_payer']['clients']} clients, "
        f"{d['big_payer']['invoices']} invoices. The big community, "
        f"{d['big_community']['name']}: {d['big_community']['residents']} residents.",
        "",
        f"| rows | {d['agency']} | whole database |",
        "|---|---:|---:|",
    ]
    for name, count in d["rows"].items():
        lines.append(f"| {name} | {count['agency']:,} | {count['all']:,} |")
    lines += [
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores |",
        f"| memory | {m['memory_gb']} GB |",
        f"| system | {m['os']} |",
        f"| PostgreSQL | {m['postgresql']} |",
        f"| Python | {m['python']} |",
        f"| Django | {m['django']} |",
        f"| load average at the end (1, 5, 15 min) | {', '.join(map(str, m['load_average']))} |",
        "",
        "The machine may be shared: compare ratios, which the interleaved rounds keep fair, "
        "rather than milliseconds between runs.",
        "",
    ]
    return "\n".join(lines)


# Issue 13: 5,000 clients with 10,000 contacts imported, logins and invitations queued.
IMPORT_TARGET_SECONDS = 60
EMAIL_TARGETS = {"accounts_seconds": 20.0, "deliveries_per_second_1_worker": 200.0}


def email_section(email: dict[str, Any]) -> list[str]:
    """Return the Markdown lines of the email figures (bench/email.py) and their targets."""
    accounts_ok = email["accounts_seconds"] <= EMAIL_TARGETS["accounts_seconds"]
    one = email["deliveries_per_second_1_worker"]
    two = email["deliveries_per_second_2_workers"]
    return [
        "",
        "## Email and CSV import",
        "",
        f"On a database of its own with {email['accounts_existing_logins']:,} logins already "
        "there; deliveries by the real worker to an SMTP server on loopback (aiosmtpd, on the "
        "same cores).",
        "",
        "| figure | value | target |",
        "|---|---:|---|",
        f"| {email['accounts_created']:,} accounts created with invitations queued | "
        f"{email['accounts_seconds']:.1f} s ({email['accounts_per_second']:,}/s, "
        f"{email['accounts_queries']} queries) | 20 s or less: "
        f"{'pass' if accounts_ok else '**FAIL**'} |",
        f"| deliveries a second, one worker | {one:,} | 200 or more: "
        f"{'pass' if one >= EMAIL_TARGETS['deliveries_per_second_1_worker'] else '**FAIL**'} |",
        f"| deliveries a second, two workers | {two:,} | close to double one worker's |",
        f"| invitations sent twice | {email['deliveries_sent_twice']} | 0 |",
        *(
            [
                f"| other emails (resets, notices, messages) a second, one worker | "
                f"{email['other_emails_per_second_1_worker']:,} | |"
            ]
            if "other_emails_per_second_1_worker" in email
            else []
        ),
        *(
            [
                f"| from queued to sent, worker idle (PostgreSQL LISTEN/NOTIFY) | "
                f"{email['idle_worker_wake_ms']} ms | well under the 5 s interval |"
            ]
            if "idle_worker_wake_ms" in email
            else []
        ),
        f"| one sign-in | {email['sign_in_ms']} ms | |",
        f"| of which the Argon2 check | {email['sign_in_argon2_ms']} ms | |",
        *(import_lines(email) if "import_seconds" in email else []),
    ]


def import_lines(email: dict[str, Any]) -> list[str]:
    """Return the table rows of the CSV import's figures (measured with the email's)."""
    total = email["import_preview_seconds"] + email["import_seconds"]
    ok = total <= IMPORT_TARGET_SECONDS
    return [
        f"| CSV import of {email['import_clients']:,} clients with "
        f"{email['import_contacts']:,} emergency contacts: preview, then import with "
        f"{email['import_invitations_queued']:,} invitations queued | "
        f"{email['import_preview_seconds']:.1f} s + {email['import_seconds']:.1f} s | "
        f"under {IMPORT_TARGET_SECONDS} s: {'pass' if ok else '**FAIL**'} |",
    ]


def write(document: dict[str, Any]) -> list[Path]:
    """Write the JSON, the Markdown and the chart; return their paths."""
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    DOCS.mkdir(exist_ok=True)
    MARKDOWN.write_text(markdown(document))
    CHART.write_text(chart_svg(document["pages"]))
    return [MARKDOWN, CHART, RESULTS]
