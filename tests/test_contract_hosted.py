"""One contract, four wire formats: the same assertions for every hosted backend."""

from __future__ import annotations

import asyncio

import pytest

from backends.base import (
    EngineInfo,
    Finish,
    Loading,
    Message,
    Params,
    ReasoningDelta,
    Request,
    Retry,
    ServerMetrics,
    Started,
    TextDelta,
    Usage,
    Waiting,
)
from playground.testing import PROTOCOLS, Reply, collect, text_of

EVENT_TYPES = (Waiting, Loading, Started, TextDelta, ReasoningDelta, Usage, Finish, ServerMetrics, Retry,
               EngineInfo)
CHUNKS = ["The ", "quick ", "brown ", "fox — ", "jumps ✓", "\n", "over."]
REQUEST = Request("model-x", (Message("system", "Be brief."), Message("user", "Tell me.")),
                  Params(temperature=0.0, max_tokens=32, seed=1))


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stream_contract(protocol, server, hosted):
    server.script(Reply(chunks=CHUNKS, delay=0.002))
    events = await collect(hosted(protocol).stream(REQUEST))
    kinds = [type(s.event) for s in events]

    assert all(isinstance(s.event, EVENT_TYPES) for s in events)
    first_text = kinds.index(TextDelta)
    assert kinds[:first_text].count(Started) == 1 and kinds.count(Started) == 1
    assert all(s.event.text for s in events if isinstance(s.event, TextDelta))
    assert text_of(events) == "".join(CHUNKS)
    assert kinds[-1] is Finish and kinds.count(Finish) == 1
    assert events[-1].event.reason == "stop"
    usage = [s.event for s in events if isinstance(s.event, Usage)]
    assert usage and usage[-1].output_tokens == len(CHUNKS)
    assert [s.t for s in events] == sorted(s.t for s in events)
    assert len(server.requests) == 1 and server.requests[0].completed


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stop_closes_the_stream(protocol, server, hosted):
    server.script(Reply(chunks=["tick "] * 200, delay=0.01))
    stream = hosted(protocol).stream(REQUEST)
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    for _ in range(100):
        if server.requests[0].disconnected:
            break
        await asyncio.sleep(0.01)
    assert server.requests[0].disconnected and not server.requests[0].completed
