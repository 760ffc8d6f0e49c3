"""Throughput: gunicorn with 2 sync workers and DEBUG off, driven by wrk on loopback.

The floor and a page mix are each driven for a fixed time with signed-in sessions (made
in the bench database for the measured logins), and their requests per second are set
side by side. Every request carries `X-Forwarded-Proto: https`, as from the TLS proxy.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

WORKERS = 2
CONNECTIONS = 4
THREADS = 2
START_TIMEOUT = 60

# Rotates through the (path, headers) pairs, each thread from its own place, and counts
# answers other than 200: a redirect to sign in would otherwise look like a fast page.
LUA = """
local requests = {%(requests)s}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  bad = 0
  i = math.random(#requests)
end
function request()
  i = i %% #requests + 1
  local r = requests[i]
  return wrk.format("GET", r[1], r[2])
end
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do
    total = total + t:get("bad")
  end
  io.write(string.format("BENCH_NOT_200 %%d\\n", total))
end
"""


class LoadError(Exception):
    """The throughput run could not be made; the message says why."""


@dataclass(frozen=True)
class Target:
    """One request of a rotation: a page's name, its path and the session cookie sent."""

    name: str
    path: str
    cookie: str
    headers: tuple[tuple[str, str], ...] = ()


def lua_script(targets: list[Target]) -> str:
    """Return the wrk script that rotates through the targets."""

    def quote(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    entries = []
    for target in targets:
        headers = {
            "Cookie": f"{settings.SESSION_COOKIE_NAME}={target.cookie}",
            "X-Forwarded-Proto": "https",
            **dict(target.headers),
        }
        fields = ", ".join(f"[{quote(k)}] = {quote(v)}" for k, v in headers.items())
        entries.append(f"{{{quote(target.path)}, {{{fields}}}}}")
    return LUA % {"requests": ",\n  ".join(entries)}


def parse_wrk(output: str) -> dict[str, Any]:
    """Return requests per second, latency percentiles (ms) and counts from wrk's output."""

    def ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise LoadError(f"wrk gave no result:\n{output}")
    latency = {
        f"p{p}_ms": ms(v, u)
        for p, v, u in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    }
    total = re.search(r"(\d+) requests in", output)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    not_200 = re.search(r"BENCH_NOT_200 (\d+)", output)
    return {
        "requests_per_second": float(rps.group(1)),
        "requests": int(total.group(1)) if total else 0,
        "not_200": int(not_200.group(1)) if not_200 else 0,
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
        **latency,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/accounts/login/", headers={"X-Forwarded-Proto": "https"}
    )
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise LoadError(f"gunicorn stopped at start (exit {process.returncode})")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise LoadError(f"gunicorn did not answer on port {port} within {START_TIMEOUT} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def drive(port: int, targets: list[Target], seconds: int) -> dict[str, Any]:
    """Run wrk against the rotation for `seconds`; return its parsed figures."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(targets))
    try:
        command = [
            "wrk",
            f"-t{THREADS}",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "--latency",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}",
        ]
        done = subprocess.run(  # noqa: S603
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    if done.returncode != 0:
        raise LoadError(f"wrk failed (exit {done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def throughput(
    floor: list[Target],
    mix: list[Target],
    *,
    seconds: int = 12,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Start gunicorn on a free loopback port, drive the floor then the mix, stop it.

    Return both runs' figures and the mix's share of the floor's requests per second.
    """
    if shutil.which("wrk") is None:
        raise LoadError("wrk is missing: install it (apt-get install wrk), or run `make bench`.")
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "careportal.wsgi",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "60",
        "--log-level",
        "warning",
    ]
    log(f"Throughput: gunicorn ({WORKERS} sync workers, DEBUG off) on 127.0.0.1:{port}")
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR)  # noqa: S603
    try:
        _wait_until_up(port, process)
        # A short warm-up, so both runs meet workers that have loaded every module.
        drive(port, floor + mix, 3)
        floor_run = drive(port, floor, seconds)
        log(f"  floor: {floor_run['requests_per_second']:.1f} requests/s")
        mix_run = drive(port, mix, seconds)
        log(f"  page mix: {mix_run['requests_per_second']:.1f} requests/s")
    finally:
        _stop(process)
    share = (
        mix_run["requests_per_second"] / floor_run["requests_per_second"]
        if floor_run["requests_per_second"]
        else 0.0
    )
    return {
        "server": f"gunicorn, {WORKERS} sync workers, DEBUG off",
        "load_generator": f"wrk, {THREADS} threads, {CONNECTIONS} connections, loopback",
        "seconds": seconds,
        "floor": floor_run,
        "mix": {**mix_run, "pages": sorted({t.name for t in mix})},
        "mix_share_of_floor": round(share, 3),
        "target_share": 1 / 3,
        "passed": share >= 1 / 3 and mix_run["not_200"] == 0,
    }
