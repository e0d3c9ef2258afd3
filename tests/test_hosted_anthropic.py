"""AnthropicBackend against the scripted server speaking the Messages stream."""

from __future__ import annotations

import json

import pytest

from backends import errors
from backends.base import Finish, Message, Params, Request, RetryPolicy, Usage
from playground.testing import Reply, collect, kinds, reasoning_of, sse, text_of

REQUEST = Request("claude-x", (Message("system", "Be brief."), Message("user", "Hi"),
                               Message("assistant", "Hello."), Message("user", "More?")),
                  Params(temperature=0.2, top_p=0.9, seed=4, stop=("END",)))


def usages(events):
    return [s.event for s in events if isinstance(s.event, Usage)]


async def test_request_body_and_headers(server, hosted):
    await collect(hosted("anthropic", default_max_tokens=77).stream(REQUEST))
    sent = server.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"].startswith("sk-test") and "authorization" not in sent.headers
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.body == {
        "model": "claude-x", "max_tokens": 77, "system": "Be brief.", "stream": True,
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
                     {"role": "user", "content": "More?"}],
        "temperature": 0.2, "top_p": 0.9, "stop_sequences": ["END"],
    }


async def test_usage_as_it_arrives(server, hosted):
    server.script(Reply(chunks=["a", "b", "c"], input_tokens=25, output_tokens=15))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert usages(events) == [Usage(input_tokens=25), Usage(output_tokens=15)]
    assert kinds(events).index("usage") < kinds(events).index("text")  # input tokens from message_start
    assert text_of(events) == "abc" and events[-1].event == Finish("stop", raw="end_turn")


@pytest.mark.parametrize(("raw", "reason"), [("max_tokens", "length"), ("stop_sequence", "stop"),
                                             ("tool_use", "tool_calls"), ("refusal", "content_filter"),
                                             ("pause_turn", "other")])
async def test_finish_reasons(raw, reason, server, hosted):
    server.script(Reply(finish=raw))
    assert (await collect(hosted("anthropic").stream(REQUEST)))[-1].event == Finish(reason, raw=raw)


async def test_thinking_is_reasoning(server, hosted):
    server.script(Reply(reasoning=["Let me ", "think."], chunks=["Answer."]))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert reasoning_of(events) == "Let me think." and text_of(events) == "Answer."


async def test_error_before_stream(server, hosted):
    server.script(Reply(status=400, message="max_tokens: Field required"))
    with pytest.raises(errors.BadRequestError) as caught:
        await collect(hosted("anthropic").stream(REQUEST))
    assert str(caught.value) == "400 from Anthropic: max_tokens: Field required — check the request parameters"
    assert caught.value.provider_type == "invalid_request_error"


async def test_error_event_mid_stream(server, hosted):
    server.script(Reply(chunks=["a", "b"], error_after=1, error_status=529, message="Overloaded"))
    events: list = []
    with pytest.raises(errors.StreamError, match=r"^Anthropic reported an error mid-stream: Overloaded \(overloaded_error\)"):
        await collect(hosted("anthropic").stream(REQUEST), events)
    assert text_of(events) == "a"


async def test_malformed_frame(server, hosted):
    server.script(Reply(malformed_after=0))
    with pytest.raises(errors.StreamError, match="malformed frame"):
        await collect(hosted("anthropic").stream(REQUEST))


async def test_no_message_stop_is_a_stream_error(server, hosted):
    server.script(Reply(done=False))
    events: list = []
    with pytest.raises(errors.StreamError, match=r"^127\.0\.0\.1:\d+ \(anthropic-compatible\) closed the "
                       "stream before message_stop") as caught:
        await collect(hosted("anthropic").stream(REQUEST), events)
    assert text_of(events) == "Hello, world!" and "try again" not in str(caught.value)


async def test_missing_key(server, hosted):
    with pytest.raises(errors.ConfigError, match="^no API key for anthropic: set ANTHROPIC_API_KEY$"):
        await collect(hosted("anthropic", api_key=None, base_url=None).stream(REQUEST))
    assert server.requests == []


def ev(obj: dict) -> bytes:
    return sse(obj, obj["type"])


START = ev({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                 "content": [], "model": "claude-x", "stop_reason": None,
                                                 "usage": {"input_tokens": 10, "cache_read_input_tokens": 90,
                                                           "cache_creation_input_tokens": 0, "output_tokens": 1}}})
STOP = ev({"type": "message_stop"})


def block_delta(index: int, delta: dict) -> bytes:
    return ev({"type": "content_block_delta", "index": index, "delta": delta})


async def test_thinking_block_with_signature_then_text(server, hosted):
    server.script(Reply(raw=[
        START,
        ev({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "",
                                                                          "signature": ""}}),
        block_delta(0, {"type": "thinking_delta", "thinking": "Two plus two "}),
        ev({"type": "ping"}),
        block_delta(0, {"type": "thinking_delta", "thinking": "is four."}),
        block_delta(0, {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}),
        ev({"type": "content_block_stop", "index": 0}),
        ev({"type": "content_block_start", "index": 1, "content_block": {"type": "redacted_thinking",
                                                                          "data": "EmwKAhgBEgy3"}}),
        ev({"type": "content_block_stop", "index": 1}),
        ev({"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}}),
        block_delta(2, {"type": "text_delta", "text": "4"}),
        ev({"type": "content_block_stop", "index": 2}),
        ev({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 30}}),
        STOP]))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert reasoning_of(events) == "Two plus two is four." and text_of(events) == "4"
    assert usages(events) == [Usage(input_tokens=100), Usage(output_tokens=30)]  # cache reads count as input
    assert events[-1].event == Finish("stop", raw="end_turn")


async def test_content_block_start_may_carry_initial_text(server, hosted):
    server.script(Reply(raw=[
        START,
        ev({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "Hm. "}}),
        block_delta(0, {"type": "thinking_delta", "thinking": "Sure."}),
        ev({"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": "Hello"}}),
        block_delta(1, {"type": "text_delta", "text": ", world"}),
        ev({"type": "message_delta", "delta": {"stop_reason": "max_tokens"}, "usage": {"output_tokens": 4}}),
        STOP]))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert reasoning_of(events) == "Hm. Sure." and text_of(events) == "Hello, world"
    assert events[-1].event == Finish("length", raw="max_tokens")


async def test_message_delta_usage_is_cumulative_and_may_restate_input(server, hosted):
    server.script(Reply(raw=[
        START,
        ev({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
        block_delta(0, {"type": "text_delta", "text": "ok"}),
        ev({"type": "message_delta", "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"},
            "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 7}}),
        STOP]))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert usages(events)[-1] == Usage(input_tokens=100, output_tokens=7)
    assert events[-1].event == Finish("stop", raw="stop_sequence")


MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
           "content": [{"type": "thinking", "thinking": "Two and two.", "signature": "EqQB"},
                       {"type": "redacted_thinking", "data": "EmwK"},
                       {"type": "text", "text": "Four ✓"}],
           "stop_reason": "max_tokens", "stop_sequence": None,
           "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 7}}


async def test_proxy_ignoring_stream_answers_one_json_message(server, hosted):
    server.script(Reply(raw=[json.dumps(MESSAGE, ensure_ascii=False).encode()], media_type="application/json"))
    events = await collect(hosted("anthropic").stream(REQUEST))
    assert kinds(events) == ["started", "answered", "usage", "reasoning", "text", "finish"]
    assert reasoning_of(events) == "Two and two." and text_of(events) == "Four ✓"
    assert usages(events) == [Usage(input_tokens=100, output_tokens=7)]
    assert events[-1].event == Finish("length", raw="max_tokens")


async def test_json_error_with_status_200(server, hosted):
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    server.script(Reply(raw=[json.dumps(error).encode()], media_type="application/json"))
    with pytest.raises(errors.StreamError, match=r"^Anthropic reported an error mid-stream: Overloaded \(overloaded_error\)$") as caught:
        await collect(hosted("anthropic", retry=RetryPolicy(max_tries=1)).stream(REQUEST))
    assert caught.value.retryable


@pytest.mark.parametrize("body", [b'{"object": "chat.completion", "choices": []}', b"[]", b'"ok"',
                                  json.dumps([MESSAGE, MESSAGE]).encode()])
async def test_json_answer_that_is_not_a_message_says_check_the_base_url(body, server, hosted):
    server.script(Reply(raw=[body], media_type="application/json"))
    with pytest.raises(errors.StreamError, match="answered JSON that is not (a Message|an object) — check the base URL"):
        await collect(hosted("anthropic").stream(REQUEST))

