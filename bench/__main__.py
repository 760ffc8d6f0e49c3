"""`python -m bench` (what `make bench` runs): build or reuse the data, measure, report.

`python -m bench --check-server` only checks that PostgreSQL answers.

Environment: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/careportal_bench),
BENCH_ROUNDS (25), BENCH_BUDGET_SECONDS (1200: rounds stop early past it, after 5),
BENCH_LOAD_SECONDS (12 for each throughput run; 0 skips the throughput run), BENCH_EMAIL
(1; 0 skips the email figures, measured in a database of their own: the bench's + `_email`).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any


def _number(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise SystemExit(f"Environment variable {name} must be a whole number, not {raw!r}.")
    return int(raw)


def conninfo(url: str) -> dict[str, Any]:
    """Return psycopg's connection arguments for a postgres:// URL."""
    import environ

    config = environ.Env.db_url_config(url)
    if not config["ENGINE"].endswith("postgresql"):
        raise SystemExit(
            "BENCH_DATABASE_URL must be a postgres:// URL: the bench runs on PostgreSQL."
        )
    info = {
        "host": config.get("HOST") or "127.0.0.1",
        "port": int(config.get("PORT") or 5432),
        "user": config.get("USER") or "postgres",
        "dbname": config["NAME"],
    }
    if config.get("PASSWORD"):
        info["password"] = config["PASSWORD"]
    return info


def end_earlier_sessions(logins: dict[str, Any]) -> None:
    """End the measured logins' sessions of earlier runs, so they do not pile up.

    The audit events earlier runs wrote stay: the trail is append-only, and the data is
    built afresh every week.
    """
    from careportal.accounts.sessions import end_sessions

    for user in logins.values():
        end_sessions(user)


def load_targets(logins: dict[str, Any], results: list[Any]) -> tuple[list[Any], list[Any]]:
    """Return the throughput run's rotations: the bare floor, and the portal pages' mix.

    Each login gets a new session of its own, sent with every one of its pages.
    """
    from django.conf import settings

    from bench import load, measure

    floor, mix = [], []
    for role, user in logins.items():
        cookie = measure.sign_in(user).cookies[settings.SESSION_COOKIE_NAME].value
        for result in results:
            page = result.page
            if page.user != role:
                continue
            target = load.Target(page.name, page.url, cookie, page.headers)
            if page.name == measure.FLOOR:
                floor.append(target)
            elif page.area == "portal":
                mix.append(target)
    return floor, mix


def email_database_url(url: str) -> str:
    """Return the URL of the email run's database: the bench database's name + `_email`.

    Apart from the page data, so the 10,000 accounts it makes never change what the pages
    show; its tables are made by the run itself.
    """
    base, _slash, name = url.rpartition("/")
    return f"{base}/{name.split('?')[0]}_email"


def measure_email_figures(url: str) -> dict[str, Any] | None:
    """Return the email figures (bench/email.py) measured on a database of their own."""
    import psycopg

    from bench import email

    target = email_database_url(url)
    info = conninfo(target)
    with psycopg.connect(**{**info, "dbname": "postgres"}, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [info["dbname"]]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{info["dbname"]}"')
    print("== email: accounts created and queued, deliveries with one and two workers")
    try:
        figures = email.measure_email(target)
    except RuntimeError as exc:
        print(f"!! Email figures not measured: {exc}")
        return None
    for name, value in figures.items():
        print(f"  {name:<40} {value}")
    return figures


def print_sign_ins(url: str) -> None:
    """Print the measured logins and how to open their pages in a browser."""
    from bench.build import BENCH_PASSWORD, MEASURED, SECURITY_ANSWER
    from careportal.agencies.management.commands.seed_demo import DEMO_TOTP_KEY_BASE32

    print()
    print(
        f"Measured sign-ins (password for all: {BENCH_PASSWORD}; security answer: "
        f"{SECURITY_ANSWER})"
    )
    for role, username in MEASURED.items():
        print(f"  {role:<10} {username}")
    print(f"  The owner's two-factor key: {DEMO_TOTP_KEY_BASE32} (TOTP, 6 digits, 30 s)")
    print("Open the same pages in a browser with:")
    print(f"  DEBUG=true DATABASE_URL={url} .venv/bin/python manage.py runserver")
    print("  then http://127.0.0.1:8000/ (portal) and http://127.0.0.1:8000/backoffice/")


def check_server(info: dict[str, Any]) -> int:
    """Return 0 if the PostgreSQL server of the bench database answers, else say so."""
    import psycopg

    try:
        psycopg.connect(**{**info, "dbname": "postgres"}, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        print(f"!! PostgreSQL does not answer at {info['host']}:{info['port']}: {exc}")
        return 1
    print(f"== PostgreSQL answers at {info['host']}:{info['port']}")
    return 0


def main(argv: list[str]) -> int:
    from bench.settings import BENCH_DATABASE_URL

    if argv and argv != ["--check-server"]:
        raise SystemExit("usage: python -m bench [--check-server]")
    if argv:
        return check_server(conninfo(BENCH_DATABASE_URL))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    rounds = _number("BENCH_ROUNDS", 25)
    budget = _number("BENCH_BUDGET_SECONDS", 1200)
    load_seconds = _number("BENCH_LOAD_SECONDS", 12)
    info = conninfo(BENCH_DATABASE_URL)

    import django

    django.setup()
    from django.conf import settings

    from bench import build, load, measure, report

    started = time.monotonic()
    try:
        state = build.ensure_built(info)
    except build.psycopg.OperationalError as exc:
        print(f"PostgreSQL does not answer at {info['host']}:{info['port']}: {exc}")
        return 1
    logins = measure.measured_logins()
    end_earlier_sessions(logins)
    try:
        results, run = measure.measure(rounds=rounds, budget_seconds=budget)
    except measure.MeasureError as exc:
        print(f"!! {exc}")
        return 1
    pages = measure.records(results)
    for page in pages:
        print(
            f"  {page['user']:<10} {page['page']:<32} {page['queries']:>4} q "
            f"{page['median_ms']:>8.1f} ms  p95 {page['p95_ms']:>8.1f}  "
            f"{page['ratio']:>6.2f}x  {page['bytes'] / 1024:>7.1f} KB"
            + ("" if page["passed"] else "  FAIL")
        )
    throughput = None
    if load_seconds:
        try:
            throughput = load.throughput(*load_targets(logins, results), seconds=load_seconds)
        except load.LoadError as exc:
            print(f"!! Throughput not measured: {exc}")
    email = None
    if _number("BENCH_EMAIL", 1):
        email = measure_email_figures(BENCH_DATABASE_URL)
    data = report.data_sizes()
    data["built_at"] = state.built_at.isoformat(timespec="minutes")
    data["build_seconds"] = round(state.seconds, 1)
    run["seconds"] = round(time.monotonic() - started, 1)
    document = report.results_json(
        pages, throughput, machine_info=report.machine(), data=data, run=run, email=email
    )
    for path in report.write(document):
        print(f"Wrote {path.relative_to(settings.BASE_DIR)}")
    print_sign_ins(BENCH_DATABASE_URL)
    # Pages over their targets are the report's news; a run that could not measure fails.
    return 1 if load_seconds and throughput is None else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
