"""One contract, every backend: the same assertions for the four hosted wire formats (against the
scripted server), both local engines (the real SmolLM2 in its worker) and the ``test:`` model."""

from __future__ import annotations

import asyncio
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from backends.base import (
    Backend,
    Event,
    Finish,
    Loading,
    Message,
    Params,
    Request,
    Started,
    TextDelta,
    Usage,
)
from playground.testing import PROTOCOLS, Reply, collect, text_of

EVENT_TYPES = typing.get_args(Event)  # the contract's own list: a new event kind is covered at once
CHUNKS = ["The ", "quick ", "brown ", "fox — ", "jumps ✓", "\n", "over."]
MESSAGES = (Message("system", "Be brief."), Message("user", "Tell me about foxes."))
BACKENDS = [*PROTOCOLS, "gguf", "hf", "test"]


@dataclass
class Case:
    backend: Backend
    model: str
    expected_text: str | None  # None: a real model, whose text the test cannot know
    expected_tokens: int | None
    script: Callable[[Reply], None] | None = None  # how to script a hosted server
    stopped: Callable[[], bool] | None = None  # after Stop: did the other side see the stream end?


@pytest.fixture
def case(request, server, hosted, local_runtime) -> Callable[[], Case]:
    name = request.param

    def make() -> Case:
        if name in PROTOCOLS:
            return Case(hosted(name), "model-x", "".join(CHUNKS), len(CHUNKS), server.script,
                        lambda: bool(server.requests) and server.requests[-1].disconnected)
        if name == "test":
            return Case(local_runtime.resolve("test:x").backend, "chunks=7&text=w%20", "w " * 7, 7)
        return Case(local_runtime.resolve(f"{name}:smollm2").backend, "smollm2", None, None)

    return make


def _request(case: Case, max_tokens: int = 12, threads: int | None = None) -> Request:
    return Request(case.model, MESSAGES, Params(temperature=0.0, seed=1, max_tokens=max_tokens),
                   threads=threads if threads is not None else (2 if case.backend.local else None))


@pytest.mark.parametrize("case", BACKENDS, indirect=True)
async def test_stream_contract(case):
    c = case()
    if c.script:
        c.script(Reply(chunks=CHUNKS, delay=0.002))
    events = await collect(c.backend.stream(_request(c)))
    kinds = [type(s.event) for s in events]

    assert all(isinstance(s.event, EVENT_TYPES) for s in events)
    first_text = kinds.index(TextDelta)
    assert kinds[:first_text].count(Started) == 1 and kinds.count(Started) == 1
    assert Loading not in kinds[first_text:]  # a load always comes before t0
    assert all(s.event.text for s in events if isinstance(s.event, TextDelta))
    text = text_of(events)
    assert text if c.expected_text is None else text == c.expected_text
    assert kinds[-1] is Finish and kinds.count(Finish) == 1
    assert events[-1].event.reason in ("stop", "length")
    usage = [s.event for s in events if isinstance(s.event, Usage)]
    assert usage and usage[-1].output_tokens
    if c.expected_tokens is not None:
        assert usage[-1].output_tokens == c.expected_tokens
    else:
        assert usage[-1].source == "tokenizer" and usage[-1].output_tokens <= 12
    assert [s.t for s in events] == sorted(s.t for s in events)


@pytest.mark.parametrize("case", BACKENDS, indirect=True)
async def test_stop_closes_the_stream(case):
    c = case()
    if c.script:
        c.script(Reply(chunks=["tick "] * 200, delay=0.01))
    stream = c.backend.stream(_request(c, max_tokens=200))
    async for event in stream:
        if isinstance(event, TextDelta):
            break
    await stream.aclose()
    if c.backend.local:  # closing the stream closed the worker's generation at once (it holds the lock)
        workers = c.backend.loaded()
        assert workers and not any(w["busy"] for w in workers)
    if c.stopped is not None:
        for _ in range(100):
            if c.stopped():
                break
            await asyncio.sleep(0.01)
        assert c.stopped()
    # the backend is usable at once: a local engine stopped within a token, not 200 tokens later
    t = time.perf_counter()
    if c.script:
        c.script(Reply(chunks=CHUNKS))
    events = await collect(c.backend.stream(_request(c, max_tokens=2)))
    assert text_of(events)
    assert time.perf_counter() - t < 10
