"""Complete and score modes over the hosted wire formats (issue 13): the legacy ``/v1/completions``
(streamed ``choices[0].text``, the legacy probability lists), scoring by echo (the prompt's own
probabilities), servers that do not score, Ollama's ``/api/generate`` with ``raw: true``, and the
providers without a raw mode refusing that lane alone — against the scripted server on 127.0.0.1."""

from __future__ import annotations

import pytest

from backends import errors
from backends.base import Message, Params, Request, TokenLogprobs, TokenProb, Usage
from playground.api import compare
from playground.testing import Reply, collect, text_of
from playground.testing import logprob_frames as lf

DOC = (Message("system", "ignored in raw modes"), Message("user", "The cat sat"))
SENTENCE = "The cat sat"


def _request(mode: str, k: int | None = 2, model: str = "base-model") -> Request:
    return Request(model, DOC, Params(max_tokens=5, temperature=0.0, logprobs=k, mode=mode, stop=("\n",)))


def _rows(events) -> list[TokenProb]:
    return [t for s in events if isinstance(s.event, TokenLogprobs) for t in s.event.tokens]


async def test_complete_mode_is_the_legacy_completions_on_the_raw_document(server, hosted):
    tokens = [(" on", -0.3, [(" on", -0.3), (" down", -1.9)]), (" the", -0.1, [(" the", -0.1), (" a", -2.6)])]
    server.script(Reply(raw=lf.completions(tokens, first_offset=len(SENTENCE))))
    events = await collect(hosted("openai").stream(_request("complete")))
    sent = server.requests[0]
    assert sent.path == "/v1/completions"
    assert sent.body == {"model": "base-model", "prompt": SENTENCE, "stream": True,
                         "stream_options": {"include_usage": True}, "temperature": 0.0, "max_tokens": 5,
                         "logprobs": 2, "stop": ["\n"]}  # no messages, no system prompt, no template
    assert text_of(events) == " on the"
    assert _rows(events) == [TokenProb(" on", -0.3, ((" on", -0.3), (" down", -1.9))),
                             TokenProb(" the", -0.1, ((" the", -0.1), (" a", -2.6)))]


async def test_complete_mode_streams_a_plain_reply_too(server, hosted):
    server.script(Reply(chunks=[" on", " the", " mat"]))
    events = await collect(hosted("openai").stream(_request("complete", k=None)))
    assert server.requests[0].path == "/v1/completions" and server.requests[0].body["prompt"] == SENTENCE
    assert text_of(events) == " on the mat" and "logprobs" not in server.requests[0].body
    assert any(isinstance(s.event, Usage) and s.event.output_tokens == 3 for s in events)


ECHO = [("The", None, []), (" cat", -6.5, [(" first", -2.0), (" cat", -6.5)]), (" sat", -3.25, [(" sat", -3.25)])]


async def test_score_mode_reads_the_echoed_prompt_and_stops_there(server, hosted):
    # vLLM echoes the prompt with its tokens' probabilities (the first has none) and then generates;
    # the generated token (" on") is not part of the text scored
    server.script(Reply(raw=lf.completions(ECHO + [(" on", -0.3, [(" on", -0.3)])], echo=SENTENCE + " on")))
    events = await collect(hosted("openai").stream(_request("score", k=1)))
    body = server.requests[0].body
    assert body["echo"] is True and body["logprobs"] == 1 and body["max_tokens"] == 1
    assert body["prompt"] == SENTENCE and "stop" not in body
    assert text_of(events) == SENTENCE  # the lane shows the text it scored
    assert _rows(events) == [TokenProb(" cat", -6.5, ((" first", -2.0),)), TokenProb(" sat", -3.25, ((" sat", -3.25),))]
    assert [s.event for s in events if isinstance(s.event, Usage)] == [Usage(input_tokens=3, output_tokens=0)]


async def test_score_mode_through_the_core_gives_the_figures(server, local_runtime):
    server.script(Reply(raw=lf.completions(ECHO, echo=SENTENCE)))
    doc = await compare(SENTENCE, ["openai:base-model"], runtime=local_runtime, mode="score", logprobs=1)
    out = doc["turns"][0]["outputs"][0]
    assert out["status"] == "ok", out["error"]
    assert out["text"] == SENTENCE and out["mode"] == "score"
    assert out["logprobs"] == {"top_k": 1, "kind": "provider"}
    assert out["metrics"]["logprob_sum"] == -9.75 and out["metrics"]["logprob_tokens"] == 2


async def test_a_server_that_refuses_echo_says_scoring_is_not_offered(server, hosted):
    server.script(Reply(status=400, message="echo is not supported for this model"))
    with pytest.raises(errors.BadRequestError) as caught:
        await collect(hosted("openai").stream(_request("score", model="no-echo")))
    message = str(caught.value)
    assert message.startswith("scoring not offered by no-echo at ") and "echo is not supported" in message
    assert "\n" not in message and len(server.requests) == 1  # not retried without probabilities


async def test_a_server_that_answers_instead_of_echoing_does_not_score(server, hosted):
    # llama-cpp-python's server ignores echo while streaming: it just continues the prompt
    server.script(Reply(raw=lf.completions([(" on", -0.3, [(" on", -0.3)])], first_offset=len(SENTENCE))))
    with pytest.raises(errors.BadRequestError, match="scoring not offered by base-model at .*: it answered "
                                                     "instead of echoing the prompt"):
        await collect(hosted("openai").stream(_request("score")))


async def test_ollama_complete_mode_is_generate_raw(server, hosted):
    server.script(Reply(raw=lf.ollama([(" on", -0.3, [(" on", -0.3)])], generate=True)))
    events = await collect(hosted("ollama").stream(_request("complete")))
    sent = server.requests[0]
    assert sent.path == "/api/generate" and sent.body["raw"] is True and sent.body["prompt"] == SENTENCE
    assert "messages" not in sent.body and sent.body["logprobs"] is True
    assert text_of(events) == " on" and _rows(events) == [TokenProb(" on", -0.3, ((" on", -0.3),))]


async def test_ollama_generate_plain_reply(server, hosted):
    events = await collect(hosted("ollama").stream(_request("complete", k=None)))
    assert server.requests[0].protocol == "generate" and text_of(events) == "Hello, world!"


@pytest.mark.parametrize(("model", "mode", "message"), [
    ("anthropic:claude-3-5-haiku-latest", "complete", "complete mode not offered by anthropic"),
    ("gemini:gemini-2.0-flash", "complete", "complete mode not offered by gemini"),
    ("gemini:gemini-2.0-flash", "score", "score mode not offered by gemini"),
    ("ollama:llama3.2:3b", "score", "score mode not offered by ollama"),
])
async def test_providers_without_the_mode_refuse_that_lane_only(server, local_runtime, model, mode, message):
    server.script(Reply(chunks=[" on"]))
    doc = await compare(SENTENCE, [model, "openai:base-model"], runtime=local_runtime, mode="complete"
                        if mode == "complete" else "score", max_tokens=3)
    refused, other = doc["turns"][0]["outputs"]
    assert refused["status"] == "error" and refused["error"]["message"].startswith(message)
    assert "\n" not in refused["error"]["message"]
    assert [r.model for r in server.requests] == ["base-model"]  # only the other lane asked
    if mode == "complete":
        assert other["status"] == "ok" and other["text"] == " on"
