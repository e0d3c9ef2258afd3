"""AnthropicBackend against the scripted server speaking the Messages stream."""

from __future__ import annotations

import pytest

from backends import errors
from backends.base import Finish, Message, Params, Request, Usage
from playground.testing import Reply, collect, kinds, reasoning_of, text_of

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
    with pytest.raises(errors.StreamError, match="stream ended before message_stop"):
        await collect(hosted("anthropic").stream(REQUEST), events)
    assert text_of(events) == "Hello, world!"


async def test_missing_key(server, hosted):
    with pytest.raises(errors.ConfigError, match="^no API key for anthropic: set ANTHROPIC_API_KEY$"):
        await collect(hosted("anthropic", api_key=None, base_url=None).stream(REQUEST))
    assert server.requests == []
