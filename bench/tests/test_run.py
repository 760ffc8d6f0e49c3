"""The command's reading of its environment."""

from __future__ import annotations

import pytest

from bench.__main__ import _number, conninfo


def test_it_reads_the_bench_database_url():
    info = conninfo("postgres://bench:secret@db.example:6543/careportal_bench")

    assert info == {
        "host": "db.example",
        "port": 6543,
        "user": "bench",
        "dbname": "careportal_bench",
        "password": "secret",
    }


def test_it_refuses_a_database_that_is_not_postgresql():
    with pytest.raises(SystemExit, match="BENCH_DATABASE_URL must be a postgres:// URL"):
        conninfo("sqlite:///bench.sqlite3")


def test_it_refuses_a_round_count_that_is_not_a_number(monkeypatch):
    monkeypatch.setenv("BENCH_ROUNDS", "many")

    with pytest.raises(SystemExit, match="BENCH_ROUNDS must be a whole number"):
        _number("BENCH_ROUNDS", 25)
