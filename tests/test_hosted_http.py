"""The shared hosted machinery against a real scripted server: errors, retries, timeouts, throttle."""

from __future__ import annotations

import asyncio
import time

import pytest

from backends import errors
from backends.base import (
    Message,
    RateLimit,
    Request,
    Retry,
    RetryPolicy,
    Started,
    TextDelta,
    Timeouts,
    Waiting,
)
from playground.testing import Reply, collect, kinds, sse, text_of

REQUEST = Request("model-x", (Message("user", "Hello?"),))


async def test_missing_key_fails_before_any_request(server, hosted):
    backend = hosted("openai", api_key=None, base_url=None)  # the public API: a key is needed
    assert backend.check("gpt-4o") == "no API key for openai: set OPENAI_API_KEY"
    with pytest.raises(errors.ConfigError, match=r"^no API key for openai: set OPENAI_API_KEY$"):
        await collect(backend.stream(REQUEST))
    with pytest.raises(errors.ConfigError, match="^no API key for openai"):
        await collect(hosted("openai", api_key=None, options={"needs_key": True}).stream(REQUEST))
    assert server.requests == []


async def test_compatible_server_at_its_own_url_needs_no_key(server, hosted):
    backend = hosted("openai", api_key=None)  # e.g. OPENAI_BASE_URL=http://127.0.0.1:8080/v1
    assert backend.check("smollm2") is None
    assert text_of(await collect(backend.stream(REQUEST))) == "Hello, world!"
    assert "authorization" not in server.requests[0].headers


async def test_ollama_needs_no_key(server, hosted):
    events = await collect(hosted("ollama").stream(REQUEST))
    assert text_of(events) == "Hello, world!"
    assert "authorization" not in server.requests[0].headers


async def test_auth_error_says_what_to_do_and_never_shows_the_key(server, hosted):
    backend = hosted("openai")
    key = backend.config.api_key
    server.script(Reply(status=401, message=f"Incorrect API key provided: {key}"))
    with pytest.raises(errors.AuthError) as caught:
        await collect(backend.stream(REQUEST))
    err = caught.value
    assert str(err).startswith("401 from OpenAI: Incorrect API key provided: [redacted]")
    assert str(err).endswith(" — set OPENAI_API_KEY")
    assert key not in str(err) and key not in repr(err) and err.status == 401
    assert len(server.requests) == 1  # not retryable
    assert key not in repr(backend.config) and key not in repr(backend)


@pytest.mark.parametrize(("status", "cls"), [(400, errors.BadRequestError), (403, errors.AuthError),
                                             (404, errors.BadRequestError), (500, errors.ServerError),
                                             (529, errors.ServerError)])
async def test_error_status_maps_to_the_error_tree(status, cls, server, hosted):
    server.default = Reply(status=status, message="nope")
    with pytest.raises(cls, match=rf"^{status} from Anthropic: nope") as caught:
        await collect(hosted("anthropic", retry=RetryPolicy(max_tries=2, base_delay=0.01)).stream(REQUEST))
    assert caught.value.status == status
    assert len(server.requests) == (2 if cls is errors.ServerError else 1)


async def test_unreachable_server_is_a_connect_error(hosted):
    backend = hosted("openai", base_url="http://127.0.0.1:9/v1", retry=RetryPolicy(max_tries=1))
    with pytest.raises(errors.ConnectError, match="cannot reach OpenAI at http://127.0.0.1:9/v1"):
        await collect(backend.stream(REQUEST))


async def test_429_retry_after_then_success_retries_once(server, hosted):
    server.script(Reply(status=429, message="slow down", headers={"retry-after": "1"}),
                  Reply(chunks=["one ", "two"]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert kinds(events) == ["started", "retry", "waiting", "started", "answered", "text", "text", "usage", "finish"]
    retry = events[1].event
    assert isinstance(retry, Retry) and retry.attempt == 1 and retry.wait_s == 1.0
    assert retry.error.startswith("rate_limit: 429 from OpenAI: slow down")
    assert events[2].event == Waiting("retry", detail="rate_limit")
    assert 0.95 <= events[3].t - events[2].t <= 1.5
    assert text_of(events) == "one two"
    assert len(server.requests) == 2


@pytest.mark.parametrize(("headers", "wait"), [
    ({"retry-after-ms": "300", "retry-after": "1"}, 0.3),
    ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # an HTTP date already past
    ({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "20ms"}, 0.02),
])
async def test_retry_wait_hints(headers, wait, server, hosted):
    server.script(Reply(status=429, headers=headers), Reply())
    events = await collect(hosted("openai").stream(REQUEST))
    assert [s.event.wait_s for s in events if isinstance(s.event, Retry)] == [pytest.approx(wait)]
    assert text_of(events) == "Hello, world!"


async def test_gemini_retry_delay_from_the_error_body(server, hosted):
    server.script(Reply(status=429, body={"error": {
        "code": 429, "message": "Resource has been exhausted", "status": "RESOURCE_EXHAUSTED",
        "details": [{"@type": "type.googleapis.com/google.rpc.Help"},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.25s"}]}}),
        Reply(chunks=["fine"]))
    events = await collect(hosted("gemini").stream(REQUEST))
    assert [s.event.wait_s for s in events if isinstance(s.event, Retry)] == [0.25]
    assert text_of(events) == "fine"


async def test_gemini_retry_delay_longer_than_max_wait_gives_up(server, hosted):
    server.script(Reply(status=429, body={"error": {"code": 429, "message": "quota", "details": [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "45.8s"}]}}))
    with pytest.raises(errors.RateLimitError, match="^429 from Gemini: quota") as caught:
        await collect(hosted("gemini").stream(REQUEST))
    assert caught.value.retry_after == 45.8 and len(server.requests) == 1


async def test_rate_limit_headers_are_in_the_message(server, hosted):
    server.script(Reply(status=429, message="Rate limit reached", headers={
        "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}))
    with pytest.raises(errors.RateLimitError) as caught:
        await collect(hosted("openai").stream(REQUEST))
    assert "remaining requests 0, resets in 6m0s" in str(caught.value)
    assert caught.value.retry_after == 360.0  # longer than max_wait: given up, not waited for
    assert len(server.requests) == 1


async def test_server_asking_for_too_long_a_wait_gives_up(server, hosted):
    server.script(Reply(status=503, headers={"retry-after": "30"}))
    with pytest.raises(errors.ServerError, match="^503 from Gemini"):
        await collect(hosted("gemini", retry=RetryPolicy(max_tries=3, max_wait=2)).stream(REQUEST))
    assert len(server.requests) == 1


async def test_gives_up_after_max_tries(server, hosted):
    server.default = Reply(status=500)
    events: list = []
    with pytest.raises(errors.ServerError):
        await collect(hosted("ollama", retry=RetryPolicy(max_tries=3, base_delay=0.01)).stream(REQUEST), events)
    assert kinds(events) == ["started", "retry", "waiting"] * 2 + ["started"]
    assert [s.event.attempt for s in events if isinstance(s.event, Retry)] == [1, 2]
    assert all(0 <= s.event.wait_s <= 0.02 for s in events if isinstance(s.event, Retry))
    assert len(server.requests) == 3


async def test_error_after_first_delta_is_not_retried(server, hosted):
    server.script(Reply(chunks=["partial ", "rest"], error_after=1, error_status=500, message="boom"), Reply())
    events: list = []
    with pytest.raises(errors.StreamError, match="OpenAI reported an error mid-stream: boom") as caught:
        await collect(hosted("openai").stream(REQUEST), events)
    assert caught.value.retryable  # a server failure — yet text was streamed, so no retry
    assert text_of(events) == "partial " and kinds(events).count("started") == 1
    assert len(server.requests) == 1


async def test_overloaded_before_any_text_is_retried(server, hosted):
    server.script(Reply(error_after=0, error_status=529, message="Overloaded"), Reply(chunks=["ok"]))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert kinds(events).count("retry") == 1 and text_of(events) == "ok"
    retry = next(s.event for s in events if isinstance(s.event, Retry))
    assert retry.error.startswith("stream: Anthropic reported an error mid-stream: Overloaded")



BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(("protocol", "frames"), [  # each first line is one a leading BOM would spoil
    ("openai", [sse({"choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": "stop"}]}),
                b"data: [DONE]\n\n"]),
    ("anthropic", [sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}}),
                   sse({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}),
                   sse({"type": "message_stop"})]),
    ("gemini", [sse({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]},
                                     "finishReason": "STOP", "index": 0}]})]),
])
async def test_a_utf8_byte_order_mark_before_the_first_event_is_ignored(protocol, frames, server, hosted):
    server.script(Reply(raw=[BOM + frames[0], *frames[1:]]))
    events = await collect(hosted(protocol).stream(REQUEST))
    assert text_of(events) == "Hi" and kinds(events)[-1] == "finish"

async def test_stalled_stream_is_an_idle_timeout(server, hosted):
    server.script(Reply(chunks=["a", "b", "c"], stall_after=1, stall=2.0))
    events: list = []
    backend = hosted("openai", timeouts=Timeouts(connect=2, first_byte=5, idle=0.3, total=20))
    start = time.perf_counter()
    with pytest.raises(errors.IdleTimeout, match="OpenAI sent nothing for 0.3 s mid-stream"):
        await collect(backend.stream(REQUEST), events)
    assert time.perf_counter() - start < 1.5
    assert text_of(events) == "a" and len(server.requests) == 1  # idle timeouts are not retried


async def test_slow_headers_are_a_first_byte_timeout_and_retried(server, hosted):
    server.script(Reply(header_delay=1.0), Reply(first_delay=1.0), Reply(chunks=["late"]))
    backend = hosted("gemini", timeouts=Timeouts(connect=2, first_byte=0.3, idle=5, total=20))
    events = await collect(backend.stream(REQUEST))
    assert [s.event.error.split(":")[0] for s in events if isinstance(s.event, Retry)] == [
        "timeout.first_byte", "timeout.first_byte"]
    assert text_of(events) == "late"


async def test_first_byte_timeout_when_retries_run_out(server, hosted):
    server.default = Reply(header_delay=1.0)
    backend = hosted("ollama", timeouts=Timeouts(first_byte=0.2), retry=RetryPolicy(max_tries=1))
    with pytest.raises(errors.FirstByteTimeout, match="no response from Ollama within 0.2 s"):
        await collect(backend.stream(REQUEST))


async def test_total_timeout(server, hosted):
    server.script(Reply(chunks=["x"] * 50, delay=0.05))
    backend = hosted("anthropic", timeouts=Timeouts(first_byte=5, idle=5, total=0.5))
    events: list = []
    with pytest.raises(errors.TotalTimeout, match="took longer than 0.5 s"):
        await collect(backend.stream(REQUEST), events)
    assert 0 < len(text_of(events)) < 50


async def test_cut_connection_is_a_stream_error(server, hosted):
    server.script(Reply(chunks=["a", "b", "c"], cut_after=2))
    events: list = []
    with pytest.raises(errors.StreamError, match=r"^127\.0\.0\.1:\d+ \(Ollama\) broke the connection mid-stream"):
        await collect(hosted("ollama").stream(REQUEST), events)
    assert text_of(events) == "ab" and len(server.requests) == 1


async def test_throttle_limits_one_instance_only(server, hosted):
    limited = hosted("openai", rate=RateLimit(requests=2, period=1.0))
    free = hosted("openai")

    async def one(backend) -> tuple[list, float]:
        events = await collect(backend.stream(REQUEST))
        return events, time.perf_counter()

    start = time.perf_counter()
    limited_runs = [asyncio.create_task(one(limited)) for _ in range(10)]
    await asyncio.sleep(0.5)
    free_events, free_done = await one(free)
    results = await asyncio.gather(*limited_runs)
    elapsed = max(done for _, done in results) - start
    assert 3.9 <= elapsed <= 5.5
    assert free_done - start < 1.0 and kinds(free_events)[0] == "started"
    assert all(kinds(events)[:2] == ["waiting", "started"] for events, _ in results)
    assert all(text_of(events) == "Hello, world!" for events, _ in results)


async def test_concurrency_cap(server, hosted):
    server.default = Reply(chunks=["a", "b"], delay=0.1)
    backend = hosted("gemini", rate=RateLimit(concurrency=2))
    start = time.perf_counter()
    await asyncio.gather(*(collect(backend.stream(REQUEST)) for _ in range(6)))
    assert 0.55 <= time.perf_counter() - start <= 1.2  # three rounds of ~0.2 s


async def test_retry_events_carry_no_duplicated_text(server, hosted):
    server.script(Reply(status=529), Reply(chunks=["only ", "once"]))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert text_of(events) == "only once"
    starts = [i for i, s in enumerate(events) if isinstance(s.event, Started)]
    assert len(starts) == 2 and not any(isinstance(s.event, TextDelta) for s in events[: starts[1]])
