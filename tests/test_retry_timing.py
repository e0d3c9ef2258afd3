"""Retries counted whole: every attempt of a retried lane is in its record — listed in
``retries`` (when sent, how long until it failed, why, the back-off after it), summed in
``metrics.retry_ms`` and inside ``total_ms`` — so queue_ms + load_ms + total_ms is what the user
waited, while TTFT and the timeline stay the answering attempt's.

Real sockets: a server whose accept queue is full (connections never accepted: every attempt
ends in a connect timeout) and the scripted server answering 503 and 429 before it streams.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.pricing import cost_usd
from playground.api import compare
from playground.engine.runtime import Runtime
from playground.settings import Settings
from playground.testing import Reply, ScriptedServer
from playground.web.lane_view import race_frame
from playground.web.replay import schedule
from storage.document import Output

CONNECT_S = 0.4


@pytest.fixture
def never_accepts() -> Iterator[str]:
    """A listening socket that accepts nothing, its accept queue filled: a further connection's
    SYN is dropped, so connecting hangs until the client's connect timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):  # the queue holds backlog + 1; a few more in case the kernel rounds up
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        fillers.append(s)
    time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        for s in fillers:
            s.close()
        listener.close()


def _runtime(home: Path, base_url: str, retry: str, connect: float = 5.0) -> Runtime:
    home.mkdir(exist_ok=True)
    (home / "playground.toml").write_text(
        f"[providers.openai]\nretry = {retry}\n"
        f"timeouts = {{ connect = {connect}, first_byte = 5, idle = 5, total = 20 }}\n"
        "options = { trust_env = false }\n", encoding="utf-8")
    env = {"PLAYGROUND_HOME": str(home), "OPENAI_API_KEY": "sk-x", "OPENAI_BASE_URL": base_url}
    return Runtime(Settings.load(env=env, cwd=home))


async def _run(runtime: Runtime) -> tuple[dict, float]:
    """The lane's output and the milliseconds the caller waited for it. The price table is loaded
    first: its first use costs the first lane's end ~0.5 s that no lane figure is about."""
    cost_usd("openai", "gpt-4o-mini", 1, 1)
    try:
        start = time.perf_counter()
        doc = await compare("hi", ["openai:m"], runtime=runtime)
        waited_ms = (time.perf_counter() - start) * 1000
    finally:
        await runtime.aclose()
    return doc["turns"][0]["outputs"][0], waited_ms


async def test_a_connection_never_accepted_keeps_every_attempt_in_the_record(tmp_path, never_accepts):
    runtime = _runtime(tmp_path / "home", never_accepts,
                       "{ max_tries = 3, base_delay = 0.2, max_wait = 1 }", connect=CONNECT_S)
    out, waited_ms = await _run(runtime)
    m = out["metrics"]
    assert out["status"] == "error" and out["error"]["type"] == "timeout.connect"
    assert m["total_ms"] >= 3 * CONNECT_S * 1000 * 0.9  # three attempts, each a connect timeout
    retries = out["retries"]
    assert [r["attempt"] for r in retries] == [1, 2]  # the third attempt's failure is the lane's error
    assert all(r["error_type"] == "timeout.connect" for r in retries)
    for r in retries:  # each attempt took its connect timeout (more on a busy machine), no hang
        assert CONNECT_S * 1000 * 0.9 <= r["duration_ms"] <= CONNECT_S * 1000 + 2000
    assert retries[0]["start_ms"] == 0.0
    assert retries[1]["start_ms"] == pytest.approx(retries[0]["duration_ms"] + retries[0]["wait_ms"], abs=50)
    # every attempt and every wait is inside total_ms; nothing the user waited is left out
    attempts_ms = sum(r["duration_ms"] + r["wait_ms"] for r in retries) + CONNECT_S * 1000 * 0.9
    assert m["total_ms"] >= attempts_ms
    assert m["retry_ms"] == pytest.approx(retries[1]["start_ms"] + retries[1]["duration_ms"] + retries[1]["wait_ms"],
                                          abs=50)
    assert m["total_ms"] - m["retry_ms"] >= CONNECT_S * 1000 * 0.9  # the last attempt
    assert m["queue_ms"] + m["load_ms"] + m["total_ms"] == pytest.approx(waited_ms, abs=150)


async def test_503_then_429_then_an_answer(tmp_path):
    with ScriptedServer() as server:
        server.script(Reply(status=503, header_delay=0.3, message="busy"),
                      Reply(status=429, header_delay=0.1, headers={"retry-after": "0.2"}, message="slow down"),
                      Reply(chunks=["one ", "two"], first_delay=0.05))
        runtime = _runtime(tmp_path / "home", server.base_url("openai"),
                           "{ max_tries = 3, base_delay = 0.05, max_wait = 1 }")
        out, waited_ms = await _run(runtime)
    m = out["metrics"]
    assert out["status"] == "ok" and out["text"] == "one two"
    first, second = out["retries"]
    assert (first["error_type"], second["error_type"]) == ("server", "rate_limit")
    assert first["duration_ms"] >= 300 and second["duration_ms"] >= 100 and second["wait_ms"] == 200.0
    assert m["retry_ms"] >= first["duration_ms"] + first["wait_ms"] + second["duration_ms"] + 200
    assert m["total_ms"] >= m["retry_ms"] + m["ttft_ms"]
    # TTFT and the timeline are the answering attempt's: from its request, not the first one's
    assert 50 <= m["ttft_ms"] < 300
    assert out["timeline"][0][0] == m["ttft_ms"]
    assert m["queue_ms"] < 50  # no throttle: nothing waited before the first request
    assert m["queue_ms"] + m["load_ms"] + m["total_ms"] == pytest.approx(waited_ms, abs=150)
    # a replay (and the race chart) shows the answer after the failed attempts, as it streamed
    items = schedule([Output.model_validate(out)])
    assert items[0][0] * 1000 == pytest.approx(m["queue_ms"] + m["load_ms"] + m["retry_ms"] + m["ttft_ms"], abs=1)
    assert items[-1][0] * 1000 == pytest.approx(m["queue_ms"] + m["load_ms"] + m["total_ms"], abs=1)
    race = race_frame([Output.model_validate(out)])
    assert race["seconds"].iloc[1] == pytest.approx(items[0][0], abs=1e-3)
