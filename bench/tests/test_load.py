"""The throughput run's script and the reading of wrk's answer."""

from __future__ import annotations

import pytest

from bench import load

WRK_OUTPUT = """Running 12s test @ http://127.0.0.1:40123
  2 threads and 4 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    11.20ms    3.10ms  48.00ms   80.00%
    Req/Sec   180.00     20.00   220.00     70.00%
  Latency Distribution
     50%   10.50ms
     75%   12.00ms
     90%   15.25ms
     99%    1.20s
  4312 requests in 12.00s, 9.87MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
Requests/sec:    359.33
Transfer/sec:    842.10KB
BENCH_NOT_200 5
"""


def test_it_reads_the_figures_of_wrk():
    figures = load.parse_wrk(WRK_OUTPUT)

    assert figures["requests_per_second"] == 359.33
    assert figures["requests"] == 4312
    assert (figures["p50_ms"], figures["p90_ms"], figures["p99_ms"]) == (10.5, 15.25, 1200.0)
    assert figures["socket_errors"] == 3
    assert figures["not_200"] == 5


def test_it_refuses_an_answer_without_figures():
    with pytest.raises(load.LoadError, match="wrk gave no result"):
        load.parse_wrk("unable to connect to 127.0.0.1:1 Connection refused")


def test_it_rotates_pages_with_their_session_and_the_proxy_header():
    script = load.lua_script(
        [
            load.Target("Dashboard", "/", "abc123"),
            load.Target("Invoice pop-up", '/invoices/A"1/', "def456", (("HX-Request", "true"),)),
        ]
    )

    assert '{"/", {["Cookie"] = "sessionid=abc123", ["X-Forwarded-Proto"] = "https"}}' in script
    assert '"/invoices/A\\"1/"' in script
    assert '["HX-Request"] = "true"' in script
    assert "i = i % #requests + 1" in script
