"""OpenAIBackend against the scripted server, and once against the real llama.cpp server."""

from __future__ import annotations

import pytest

from backends import errors
from backends.base import Finish, Message, Params, Request, ServerMetrics, Timeouts, Usage
from playground.testing import Reply, collect, kinds, reasoning_of, text_of

REQUEST = Request("gpt-4o-mini", (Message("system", "Be brief."), Message("user", "Hi")),
                  Params(temperature=0.5, max_tokens=16, seed=3, stop=("\n\n",)))


def last(events, cls):
    return [s.event for s in events if isinstance(s.event, cls)][-1]


async def test_request_body_and_headers(server, hosted):
    await collect(hosted("openai", options={"headers": {"X-Title": "Playground"}}).stream(REQUEST))
    sent = server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"].startswith("Bearer sk-test")
    assert sent.headers["x-title"] == "Playground" and sent.headers["accept"] == "text/event-stream"
    assert sent.body == {
        "model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True},
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.5, "seed": 3, "max_tokens": 16, "stop": ["\n\n"],
    }


async def test_only_set_params_are_sent(server, hosted):
    await collect(hosted("openai").stream(Request("m", (Message("user", "Hi"),))))
    assert set(server.requests[0].body) == {"model", "messages", "stream", "stream_options"}


@pytest.mark.parametrize(("model", "options", "field"), [
    ("gpt-4o", {}, "max_tokens"), ("o3-mini", {}, "max_completion_tokens"),
    ("gpt-5-nano", {}, "max_completion_tokens"),
    ("gpt-4o", {"max_tokens_field": "max_completion_tokens"}, "max_completion_tokens"),
    ("o1", {"max_tokens_field": "max_tokens"}, "max_tokens"),
])
async def test_max_tokens_field(model, options, field, server, hosted):
    request = Request(model, (Message("user", "Hi"),), Params(max_tokens=9))
    await collect(hosted("openai", options=options).stream(request))
    assert server.requests[0].body[field] == 9
    assert {"max_tokens", "max_completion_tokens"} - {field} & set(server.requests[0].body) == set()


async def test_usage_and_finish(server, hosted):
    server.script(Reply(chunks=["a", "b"], input_tokens=11, output_tokens=2, finish="length"))
    events = await collect(hosted("openai").stream(REQUEST))
    assert last(events, Usage) == Usage(input_tokens=11, output_tokens=2)
    assert events[-1].event == Finish("length", raw="length")


@pytest.mark.parametrize(("raw", "reason"), [("stop", "stop"), ("tool_calls", "tool_calls"),
                                             ("content_filter", "content_filter"), ("weird", "other")])
async def test_finish_reasons(raw, reason, server, hosted):
    server.script(Reply(finish=raw))
    assert (await collect(hosted("openai").stream(REQUEST)))[-1].event == Finish(reason, raw=raw)


async def test_server_ignoring_include_usage_gives_no_usage(server, hosted):
    server.script(Reply(usage=False))
    events = await collect(hosted("openai").stream(REQUEST))
    assert "usage" not in kinds(events) and text_of(events) == "Hello, world!"


async def test_usage_chunk_with_null_choices(server, hosted):
    server.script(Reply(usage_choices_null=True, output_tokens=4))
    events = await collect(hosted("openai").stream(REQUEST))
    assert last(events, Usage).output_tokens == 4 and kinds(events)[-1] == "finish"


async def test_empty_deltas_are_skipped_and_reasoning_kept_apart(server, hosted):
    server.script(Reply(chunks=["", "Hi", "", "!"], reasoning=["think ", "hard"]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert kinds(events).count("text") == 2 and text_of(events) == "Hi!"
    assert reasoning_of(events) == "think hard"


async def test_llama_cpp_timings_become_server_metrics(server, hosted):
    timings = {"prompt_n": 5, "prompt_ms": 12.5, "predicted_n": 4, "predicted_ms": 40.0}
    server.script(Reply(timings=timings))
    events = await collect(hosted("openai").stream(REQUEST))
    assert last(events, ServerMetrics).values == timings and kinds(events)[-1] == "finish"


async def test_error_frame_mid_stream(server, hosted):
    server.script(Reply(chunks=["x", "y", "z"], error_after=2, error_status=400, message="bad things"))
    events: list = []
    with pytest.raises(errors.StreamError, match="^OpenAI reported an error mid-stream: bad things"):
        await collect(hosted("openai").stream(REQUEST), events)
    assert text_of(events) == "xy" and len(server.requests) == 1


async def test_malformed_frame(server, hosted):
    server.script(Reply(malformed_after=1))
    events: list = []
    with pytest.raises(errors.StreamError, match="malformed frame"):
        await collect(hosted("openai").stream(REQUEST), events)
    assert text_of(events) == "Hello"


async def test_no_done_and_no_finish_is_a_stream_error(server, hosted):
    server.script(Reply(done=False, finish=""))
    events: list = []
    with pytest.raises(errors.StreamError, match=r"stream ended before \[DONE\]"):
        await collect(hosted("openai").stream(REQUEST), events)
    assert text_of(events) == "Hello, world!"


async def test_finish_without_done_is_accepted(server, hosted):
    server.script(Reply(done=False))
    events = await collect(hosted("openai").stream(REQUEST))
    assert events[-1].event == Finish("stop", raw="stop")


async def test_openrouter_preset_same_class(server, hosted):
    backend = hosted("openai", name="openrouter", key_env="OPENROUTER_API_KEY")
    server.script(Reply(status=401, message="No auth credentials found"))
    with pytest.raises(errors.AuthError, match="^401 from OpenRouter: No auth credentials found — set OPENROUTER_API_KEY$"):
        await collect(backend.stream(REQUEST))


async def test_list_models(server, hosted):
    server.models = ["b-model", "a-model"]
    assert await hosted("openai").list_models() == ["a-model", "b-model"]
    assert server.requests[0].path == "/v1/models"


async def test_real_llama_cpp_server(llama_server, hosted):
    backend = hosted("openai", base_url=llama_server, api_key=None,
                     timeouts=Timeouts(connect=5, first_byte=60, idle=30, total=120))
    request = Request("smollm2", (Message("user", "What is the capital of France?"),),
                      Params(temperature=0.0, max_tokens=16, seed=1))
    events = await collect(backend.stream(request))
    assert kinds(events)[0] == "started" and kinds(events)[-1] == "finish"
    assert text_of(events).strip()
    assert events[-1].event.reason in ("stop", "length")
    assert "smollm2" in await backend.list_models()
