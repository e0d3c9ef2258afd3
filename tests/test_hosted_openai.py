"""OpenAIBackend against the scripted server, and once against the real llama.cpp server."""

from __future__ import annotations

import json

import pytest

from backends import errors
from backends.base import Finish, Message, Params, Request, Retry, RetryPolicy, ServerMetrics, Timeouts, Usage
from playground.testing import Reply, collect, kinds, reasoning_of, sse, text_of

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
    # the server that cut it is named, not "OpenAI"; and no "try again": a cut is the server's doing
    with pytest.raises(errors.StreamError, match=r"^127\.0\.0\.1:\d+ \(openai-compatible\) closed the stream "
                       r"before \[DONE\]") as caught:
        await collect(hosted("openai").stream(REQUEST), events)
    assert text_of(events) == "Hello, world!" and "try again" not in str(caught.value)


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


# ---- what OpenAI-compatible servers send in the wild -------------------------------------------

def chunk(delta=None, finish=None, **extra) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "c1", "object": "chat.completion.chunk", "model": "m", "choices": choices, **extra}


STOPPED = sse(chunk({}, "stop"))


async def test_keepalive_comments_are_skipped(server, hosted):
    server.script(Reply(raw=[b": OPENROUTER PROCESSING\n\n", sse(chunk({"role": "assistant"})),
                             b": OPENROUTER PROCESSING\n\n", sse(chunk({"content": "Hi"})), STOPPED,
                             b"data: [DONE]\n\n"]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert text_of(events) == "Hi" and events[-1].event == Finish("stop", raw="stop")


async def test_crlf_line_endings(server, hosted):
    server.script(Reply(raw=[sse(chunk({"content": "a"}), eol="\r\n"), sse(chunk({"content": "b"}), eol="\r\n"),
                             sse(chunk({}, "length"), eol="\r\n"), b"data: [DONE]\r\n\r\n"]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert text_of(events) == "ab" and events[-1].event == Finish("length", raw="length")


async def test_sse_field_forms(server, hosted):
    # no space after "data:", one JSON object over two data lines (joined with \n), bare CR endings
    server.script(Reply(raw=[b'data:{"choices":[{"index":0,"delta":{"content":"a"}}]}\n\n',
                             b'data: {"choices":[{"index":0,\ndata: "delta":{"content":"b"}}]}\n\n',
                             b'data: {"choices":[{"index":0,"delta":{"content":"c"},"finish_reason":"stop"}]}\r\r',
                             b"data:[DONE]\r\r"]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert text_of(events) == "abc" and events[-1].event == Finish("stop", raw="stop")


async def test_utf8_split_between_tcp_writes(server, hosted):
    frame = sse(chunk({"content": "naïve ✓ 🦊"}))
    cut = frame.index("✓".encode()) + 1  # inside the three bytes of ✓
    fox = frame.index("🦊".encode()) + 2  # inside the four bytes of 🦊
    server.script(Reply(raw=[frame[:cut], frame[cut:fox], frame[fox:], STOPPED], delay=0.02))
    events = await collect(hosted("openai").stream(REQUEST))
    assert text_of(events) == "naïve ✓ 🦊"


async def test_role_only_delta_null_content_and_finish_with_content(server, hosted):
    server.script(Reply(raw=[sse(chunk({"role": "assistant"})), sse(chunk({"role": "assistant", "content": None})),
                             sse(chunk({"content": "Hel"})), sse(chunk({"content": "lo"}, "stop")),
                             sse(chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 2}))]))
    events = await collect(hosted("openai").stream(REQUEST))  # and no [DONE]: the stream just ends
    assert kinds(events) == ["started", "answered", "text", "text", "usage", "finish"]
    assert text_of(events) == "Hello" and last(events, Usage) == Usage(input_tokens=3, output_tokens=2)
    assert events[-1].event == Finish("stop", raw="stop")


async def test_openrouter_reasoning_field_is_reasoning(server, hosted):
    server.script(Reply(raw=[sse(chunk({"role": "assistant", "content": "", "reasoning": "Let me see. "})),
                             sse(chunk({"content": None, "reasoning": "Two."})),
                             sse(chunk({"content": "4", "reasoning": None}, "stop")), b"data: [DONE]\n\n"]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert reasoning_of(events) == "Let me see. Two." and text_of(events) == "4"


async def test_deepseek_reasoning_content_is_reasoning(server, hosted):
    server.script(Reply(raw=[sse(chunk({"role": "assistant", "content": None, "reasoning_content": "Hmm"})),
                             sse(chunk({"content": "Yes", "reasoning_content": None}, "stop"))]))
    events = await collect(hosted("openai").stream(REQUEST))
    assert kinds(events) == ["started", "answered", "reasoning", "text", "finish"]
    assert reasoning_of(events) == "Hmm" and text_of(events) == "Yes"


async def test_server_ignoring_stream_answers_one_json_completion(server, hosted):
    completion = {"id": "chatcmpl-9", "object": "chat.completion", "model": "m", "choices": [{
        "index": 0, "message": {"role": "assistant", "content": "Whole answer ✓", "reasoning_content": "why"},
        "finish_reason": "length"}], "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
    server.script(Reply(raw=[json.dumps(completion, ensure_ascii=False).encode()], media_type="application/json"))
    events = await collect(hosted("openai").stream(REQUEST))
    assert kinds(events) == ["started", "answered", "usage", "reasoning", "text", "finish"]
    assert text_of(events) == "Whole answer ✓" and reasoning_of(events) == "why"
    assert last(events, Usage) == Usage(input_tokens=5, output_tokens=3)
    assert events[-1].event == Finish("length", raw="length")


@pytest.mark.parametrize("body", [b'{"object": "list", "data": []}', b"[]", b'"ok"'])
async def test_json_answer_that_is_not_a_completion_says_check_the_base_url(body, server, hosted):
    server.script(Reply(raw=[body], media_type="application/json"))
    with pytest.raises(errors.StreamError, match="answered JSON that is not (a chat completion|an object) — check the base URL"):
        await collect(hosted("openai").stream(REQUEST))


async def test_json_error_with_status_200(server, hosted):
    server.script(Reply(raw=[b'{"error": {"message": "model is loading", "type": "server_error"}}'],
                        media_type="application/json"))
    with pytest.raises(errors.StreamError, match="^OpenAI reported an error mid-stream: model is loading"):
        await collect(hosted("openai", retry=RetryPolicy(max_tries=1)).stream(REQUEST))


async def test_vllm_error_object_mid_stream(server, hosted):
    error = {"object": "error", "message": "This model's maximum context length is 2048 tokens",
             "type": "BadRequestError", "param": None, "code": 400}
    server.script(Reply(raw=[sse(chunk({"content": "a"})), sse(error), b"data: [DONE]\n\n"]))
    events: list = []
    with pytest.raises(errors.StreamError, match="maximum context length is 2048 tokens") as caught:
        await collect(hosted("openai").stream(REQUEST), events)
    assert text_of(events) == "a" and not caught.value.retryable


async def test_error_event_mid_stream(server, hosted):
    server.script(Reply(raw=[sse(chunk({"content": "a"})), sse({"message": "upstream timed out"}, "error")]))
    events: list = []
    with pytest.raises(errors.StreamError, match="^OpenAI reported an error mid-stream: upstream timed out$"):
        await collect(hosted("openai").stream(REQUEST), events)
    assert text_of(events) == "a"


async def test_openrouter_error_chunk_with_a_string_code_is_retried_before_text(server, hosted):
    failed = chunk({"content": ""}, "error", error={"code": "server_error",
                                                   "message": "Provider disconnected unexpectedly"})
    server.script(Reply(raw=[b": OPENROUTER PROCESSING\n\n", sse(failed)]), Reply(chunks=["fine"]))
    events = await collect(hosted("openai", name="openrouter").stream(REQUEST))
    retry = last(events, Retry)
    assert retry.error == ("stream: OpenRouter reported an error mid-stream: Provider disconnected "
                           "unexpectedly (server_error)")
    assert text_of(events) == "fine" and len(server.requests) == 2


async def test_mistral_content_parts_keep_thinking_apart(server, hosted):
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "The user says hi."}]}
    server.script(Reply(raw=[sse(chunk({"role": "assistant", "content": [thinking]})),
                             sse(chunk({"content": [{"type": "text", "text": "Hello"}]})),
                             sse(chunk({"content": " there"}, "stop")), b"data: [DONE]\n\n"]))
    events = await collect(hosted("openai", name="mistral").stream(REQUEST))
    assert reasoning_of(events) == "The user says hi." and text_of(events) == "Hello there"


async def test_groq_usage_in_x_groq(server, hosted):
    server.script(Reply(raw=[sse(chunk({"content": "ok"})), sse(chunk({}, "stop", x_groq={
        "id": "req_1", "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}})),
        b"data: [DONE]\n\n"]))
    events = await collect(hosted("openai", name="groq").stream(REQUEST))
    assert last(events, Usage) == Usage(input_tokens=12, output_tokens=1)


@pytest.mark.parametrize(("body", "content_type", "message"), [
    ("Internal Server Error", "text/plain", "Internal Server Error"),
    ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway"
     "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n", "text/html", "502 Bad Gateway"),
    ("<!DOCTYPE html><html><body><h1>Service   Unavailable</h1><p>Try &amp; retry.</p></body></html>",
     "text/html; charset=utf-8", "Service Unavailable Try & retry."),
    ('{"error": {"message": "The server had an error", "type": "server_error"}}', "application/json",
     "The server had an error"),
    ('{"detail": "Not Found"}', "application/json", "Not Found"),
])
async def test_error_bodies_of_every_shape(body, content_type, message, server, hosted):
    server.script(Reply(status=502, body=body, headers={"content-type": content_type}))
    with pytest.raises(errors.ServerError) as caught:
        await collect(hosted("openai", retry=RetryPolicy(max_tries=1)).stream(REQUEST))
    assert str(caught.value) == f"502 from OpenAI: {message} — the provider failed; try again later"


async def test_last_event_without_a_blank_line_is_not_lost(server, hosted):
    server.script(Reply(raw=[sse(chunk({"content": "Hi"})), sse(chunk({}, "stop")).rstrip(b"\n")]))
    events = await collect(hosted("openai").stream(REQUEST))  # no blank line, no [DONE]
    assert text_of(events) == "Hi" and events[-1].event == Finish("stop", raw="stop")


async def test_last_event_cut_short_is_malformed(server, hosted):
    server.script(Reply(raw=[sse(chunk({"content": "Hi"})), sse(chunk({}, "stop"))[:30]]))
    with pytest.raises(errors.StreamError, match="malformed frame"):
        await collect(hosted("openai").stream(REQUEST))


async def test_utf8_byte_order_mark_before_the_first_frame_is_ignored(server, hosted):
    first = b"\xef\xbb\xbf" + sse(chunk({"role": "assistant", "content": "Hi"}))
    server.script(Reply(raw=[first[:1], first[1:], STOPPED, b"data: [DONE]\n\n"], delay=0.02))  # BOM split too
    events = await collect(hosted("openai").stream(REQUEST))
    assert text_of(events) == "Hi" and events[-1].event == Finish("stop", raw="stop")
