"""OllamaBackend against the scripted server speaking /api/chat NDJSON."""

from __future__ import annotations

import pytest

from backends import errors
from backends.base import Finish, Message, Params, Request, ServerMetrics, Usage
from playground.testing import Reply, collect, kinds, reasoning_of, text_of

REQUEST = Request("llama3.2:3b", (Message("system", "Be brief."), Message("user", "Hi")),
                  Params(temperature=0.0, max_tokens=20, seed=1, stop=("\n",)))


async def test_request_body(server, hosted):
    await collect(hosted("ollama", options={"keep_alive": "5m", "num_ctx": 4096}).stream(REQUEST))
    sent = server.requests[0]
    assert sent.path == "/api/chat" and sent.headers["accept"] == "application/x-ndjson"
    assert sent.body == {
        "model": "llama3.2:3b", "stream": True, "keep_alive": "5m",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "options": {"temperature": 0.0, "num_predict": 20, "seed": 1, "num_ctx": 4096, "stop": ["\n"]},
    }


async def test_usage_and_server_metrics_in_ms(server, hosted):
    server.script(Reply(chunks=["The", " sky"], input_tokens=61, output_tokens=468))
    events = await collect(hosted("ollama").stream(REQUEST))
    assert kinds(events) == ["started", "answered", "text", "text", "usage", "server_metrics", "finish"]
    assert events[4].event == Usage(input_tokens=61, output_tokens=468)
    metrics = events[5].event
    assert isinstance(metrics, ServerMetrics)
    assert metrics.values == {"load_ms": pytest.approx(6.396458), "prompt_eval_ms": pytest.approx(398.801),
                              "eval_ms": pytest.approx(7701.267), "total_ms": pytest.approx(8113.3315),
                              "eval_count": 468, "prompt_eval_count": 61}
    assert events[-1].event == Finish("stop", raw="stop") and text_of(events) == "The sky"


async def test_prompt_cache_hit_without_prompt_eval_count(server, hosted):
    server.script(Reply(usage=False))
    events = await collect(hosted("ollama").stream(REQUEST))
    assert "usage" not in kinds(events)
    assert "prompt_eval_count" not in events[-2].event.values


async def test_length_and_thinking(server, hosted):
    server.script(Reply(reasoning=["hm"], chunks=["ok"], finish="length"))
    events = await collect(hosted("ollama").stream(REQUEST))
    assert reasoning_of(events) == "hm" and text_of(events) == "ok"
    assert events[-1].event == Finish("length", raw="length")


async def test_model_not_found(server, hosted):
    server.script(Reply(status=404, message="model 'llama3.2:3b' not found"))
    with pytest.raises(errors.BadRequestError) as caught:
        await collect(hosted("ollama").stream(REQUEST))
    assert str(caught.value) == ("404 from Ollama: model 'llama3.2:3b' not found — "
                                 "pull it first: ollama pull llama3.2:3b")


async def test_error_line_mid_stream(server, hosted):
    server.script(Reply(chunks=["a", "b"], error_after=1, message="out of memory"))
    events: list = []
    with pytest.raises(errors.StreamError, match="^Ollama reported an error mid-stream: out of memory"):
        await collect(hosted("ollama").stream(REQUEST), events)
    assert text_of(events) == "a"


async def test_no_done_line_is_a_stream_error(server, hosted):
    server.script(Reply(done=False))
    with pytest.raises(errors.StreamError, match=r"^127\.0\.0\.1:\d+ \(Ollama\) closed the stream before its "
                       "done line"):
        await collect(hosted("ollama").stream(REQUEST))


async def test_malformed_line(server, hosted):
    server.script(Reply(malformed_after=0))
    with pytest.raises(errors.StreamError, match="malformed frame"):
        await collect(hosted("ollama").stream(REQUEST))


async def test_list_models_and_host_without_scheme(server, hosted):
    server.models = ["qwen2.5:0.5b", "llama3.2:latest"]
    backend = hosted("ollama", base_url=server.url.removeprefix("http://"))
    assert await backend.list_models() == ["llama3.2:latest", "qwen2.5:0.5b"]
    assert server.requests[0].path == "/api/tags"


async def test_line_separators_inside_text_do_not_split_a_line(server, hosted):
    # Go's JSON encoder leaves U+0085 (NEL) raw in strings; only "\n" ends an NDJSON line
    server.script(Reply(chunks=["a\x85b", " c\u2028d", " ✓"]))
    events = await collect(hosted("ollama").stream(REQUEST))
    assert text_of(events) == "a\x85b c\u2028d ✓"


async def test_utf8_split_between_tcp_writes_and_no_final_newline(server, hosted):
    line = b'{"message":{"role":"assistant","content":"caf\xc3\xa9 \xf0\x9f\xa6\x8a"},"done":false}\n'
    done = b'{"message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","eval_count":2}'
    server.script(Reply(raw=[line[:30], line[30:38], line[38:], done], delay=0.02))
    events = await collect(hosted("ollama").stream(REQUEST))
    assert text_of(events) == "café 🦊" and events[-1].event == Finish("stop", raw="stop")


async def test_stream_false_answer_as_one_json_object(server, hosted):
    whole = (b'{"model":"m","message":{"role":"assistant","content":"All at once.","thinking":"hm"},'
             b'"done":true,"done_reason":"length","prompt_eval_count":4,"eval_count":3,"eval_duration":2000000}')
    server.script(Reply(raw=[whole], media_type="application/json"))
    events = await collect(hosted("ollama").stream(REQUEST))
    assert kinds(events) == ["started", "answered", "reasoning", "text", "usage", "server_metrics", "finish"]
    assert events[-2].event.values["eval_ms"] == 2.0 and events[-1].event == Finish("length", raw="length")


async def test_error_line_is_checked_before_done(server, hosted):
    server.script(Reply(raw=[b'{"error":"an error was encountered while running the model","done":true}\n']))
    with pytest.raises(errors.StreamError, match="^Ollama reported an error mid-stream: an error was encountered"):
        await collect(hosted("ollama").stream(REQUEST))
