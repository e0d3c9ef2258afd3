"""Token probabilities over the hosted wire formats (issue 13): the scripted server on 127.0.0.1 sends
each provider's logprob frames as that provider writes them — OpenAI chat with several tokens a chunk,
llama.cpp's server (``id``, ``-9999``), Together's numbers, the legacy completions shape, Ollama's
lines, Gemini's ``logprobsResult`` — and the refusals of models that offer none; and the real
llama-cpp-python server on SmolLM2 streams them on chat and on ``/v1/completions``."""

from __future__ import annotations

import json

import pytest
from conftest import HOSTED, TEST_KEY

from backends import errors
from backends.base import EngineInfo, Message, Params, Request, Retry, TokenLogprobs, TokenProb
from backends.logprob_wire import MAX_TEXT
from playground.api import compare
from playground.engine.runtime import Runtime
from playground.settings import Settings
from playground.testing import Reply, collect, kinds, text_of
from playground.testing import logprob_frames as lf

TOKENS = [("Hello", -0.1, [("Hello", -0.1), ("Hi", -2.5)]),
          (",", -0.5, [(",", -0.5), ("!", -1.2)]),
          (" world", -1.0, [(" world", -1.0), (" there", -1.3)])]
ROWS = [TokenProb(t, lp, tuple(top)) for t, lp, top in TOKENS]


def _request(model: str = "m", k: int | None = 2, mode: str = "chat") -> Request:
    return Request(model, (Message("system", "Be brief."), Message("user", "Hi")),
                   Params(max_tokens=8, logprobs=k, mode=mode))


def _rows(events) -> list[TokenProb]:
    return [t for s in events if isinstance(s.event, TokenLogprobs) for t in s.event.tokens]


def _provider_kind_first(events) -> None:
    """The run says its figures are the provider's, once, before the first rows."""
    infos = [i for i, s in enumerate(events) if isinstance(s.event, EngineInfo)]
    first = next(i for i, s in enumerate(events) if isinstance(s.event, TokenLogprobs))
    assert len(infos) == 1 and infos[0] < first and events[infos[0]].event.logprob_kind == "provider"


@pytest.fixture
async def runtime(server, tmp_path):
    """A runtime whose hosted providers are the scripted server."""
    env = {"PLAYGROUND_HOME": str(tmp_path), "OLLAMA_HOST": server.base_url("ollama")}
    for protocol, (_, name, key_env) in HOSTED.items():
        if key_env:
            env[key_env] = TEST_KEY
            env[f"{name.upper()}_BASE_URL"] = server.base_url(protocol)
    runtime = Runtime(Settings.load(env=env, cwd=tmp_path))
    yield runtime
    await runtime.aclose()


# ---- each provider's frames ---------------------------------------------------------------------


async def test_openai_chat_asks_and_reads_several_tokens_a_chunk(server, hosted):
    server.script(Reply(raw=lf.openai_chat(TOKENS, per_chunk=2)))
    events = await collect(hosted("openai").stream(_request()))
    body = server.requests[0].body
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert text_of(events) == "Hello, world" and _rows(events) == ROWS
    assert kinds(events).count("logprobs") == 2  # one per chunk: two tokens, then one
    _provider_kind_first(events)
    # off: nothing asked, nothing read (the frames may still carry them)
    server.script(Reply(raw=lf.openai_chat(TOKENS)))
    events = await collect(hosted("openai").stream(_request(k=None)))
    assert "logprobs" not in server.requests[1].body and "top_logprobs" not in server.requests[1].body
    assert _rows(events) == [] and "engine_info" not in kinds(events)


async def test_llama_server_ids_and_the_minus_9999_of_a_token_outside_the_top_20(server, hosted):
    tokens = [TOKENS[0], ("ly", -9999.0, [("ly", -9999.0), (",", -0.3)]), TOKENS[2]]
    server.script(Reply(raw=lf.openai_chat(tokens, ids=True)))
    events = await collect(hosted("openai").stream(_request()))
    assert text_of(events) == "Helloly world"  # the text is all there
    rows = _rows(events)
    # no made-up number: the token outside the top 20 has no row, and -9999 is no alternative
    assert [r.text for r in rows] == ["Hello", " world"]
    assert all(lp > -9999 for r in rows for _, lp in r.top)


async def test_together_numbers_and_top_logprobs_objects(server, hosted):
    server.script(Reply(raw=lf.together_chat(TOKENS)))
    events = await collect(hosted("openai").stream(_request()))
    assert text_of(events) == "Hello, world" and _rows(events) == ROWS


async def test_alternatives_come_best_first_and_at_most_k(server, hosted):
    shuffled = [("a", -0.2, [("c", -3.0), ("a", -0.2), ("b", -1.0), ("d", -4.0)])]
    server.script(Reply(raw=lf.openai_chat(shuffled)))
    (row,) = _rows(await collect(hosted("openai").stream(_request(k=2))))
    assert row.top == (("a", -0.2), ("b", -1.0))


async def test_hostile_probability_frames_are_bounded_and_skipped(server, hosted):
    junk = {"content": [
        {"token": "x" * 10_000, "logprob": -0.5, "top_logprobs": [{"token": str(i), "logprob": -i / 10}
                                                                  for i in range(1000)]},
        {"token": "s", "logprob": "-0.5"}, {"token": 7, "logprob": -0.1}, {"token": "n", "logprob": float("nan")},
        {"token": "p", "logprob": 3.0}, {"token": "b", "logprob": True}, "not an object", None,
        {"token": "ok", "logprob": -0.25, "top_logprobs": "not a list"},
    ] + [{"token": "many", "logprob": -1.0}] * 20_000}
    frame = {"id": "x", "object": "chat.completion.chunk", "model": "m",
             "choices": [{"index": 0, "delta": {"content": "hi"}, "logprobs": junk, "finish_reason": "stop"}]}
    server.script(Reply(raw=[f"data: {json.dumps(frame)}\n\n".encode(), b"data: [DONE]\n\n"]))
    events = await collect(hosted("openai").stream(_request(k=20)))
    rows = _rows(events)
    assert text_of(events) == "hi"
    assert rows[0].text == "x" * MAX_TEXT and len(rows[0].top) == 20  # cut to the length, and to K
    assert rows[1] == TokenProb("ok", -0.25, ())  # every malformed entry skipped
    assert len(rows) < 4100  # a frame gives a bounded number of tokens


async def test_ollama_chat_lines_carry_logprobs(server, hosted):
    server.script(Reply(raw=lf.ollama(TOKENS)))
    events = await collect(hosted("ollama").stream(_request()))
    body = server.requests[0].body
    assert server.requests[0].path == "/api/chat" and body["logprobs"] is True and body["top_logprobs"] == 2
    assert text_of(events) == "Hello, world" and _rows(events) == ROWS
    _provider_kind_first(events)


async def test_gemini_asks_response_logprobs_and_reads_logprobs_result(server, hosted):
    server.script(Reply(raw=lf.gemini(TOKENS, per_chunk=2)))
    events = await collect(hosted("gemini").stream(_request()))
    config = server.requests[0].body["generationConfig"]
    assert config["responseLogprobs"] is True and config["logprobs"] == 2
    assert text_of(events) == "Hello, world" and _rows(events) == ROWS
    _provider_kind_first(events)


# ---- refusals: the lane answers without, says so, and does not ask again ---------------------------


@pytest.mark.parametrize(("model", "message"), [
    ("o3-refuses", "Unsupported parameter: 'logprobs' is not supported with this model."),  # OpenAI reasoning
    ("groq-refuses", "logprobs is not supported with this model"),  # Groq
    ("deepseek-reasoner-refuses", "deepseek-reasoner does not support the parameter `top_logprobs`"),
])
async def test_a_refusal_is_answered_without_probabilities_and_remembered(server, runtime, model, message):
    server.script(Reply(status=400, message=message))
    doc = await compare("Hi", [f"openai:{model}"], runtime=runtime, logprobs=3, max_tokens=8)
    out = doc["turns"][0]["outputs"][0]
    assert out["status"] == "ok" and out["text"] == "Hello, world!"
    assert out["logprobs"] == {"top_k": 3, "kind": None, "note": f"probabilities not offered by openai:{model}"}
    assert "tokens" not in out
    first, second = (r.body for r in server.requests)
    assert first["top_logprobs"] == 3 and "logprobs" not in second and "top_logprobs" not in second
    # the next run does not pay for the refusal again
    server.requests.clear()
    doc = await compare("Hi again", [f"openai:{model}"], runtime=runtime, logprobs=3, max_tokens=8)
    assert doc["turns"][0]["outputs"][0]["status"] == "ok"
    (only,) = server.requests
    assert "logprobs" not in only.body


async def test_gemini_not_enabled_refusal_retries_once_without(server, hosted):
    server.script(Reply(status=400, message="contents: too many"))  # another 400 is no refusal
    with pytest.raises(errors.BadRequestError, match="contents: too many"):
        await collect(hosted("gemini").stream(_request("gemini-refuses")))
    assert len(server.requests) == 1
    server.requests.clear()
    server.script(Reply(status=400, message="Logprobs is not enabled for models/gemini-refuses"))
    events = await collect(hosted("gemini").stream(_request("gemini-refuses")))
    assert text_of(events) == "Hello, world!" and _rows(events) == []
    (retry,) = [s.event for s in events if isinstance(s.event, Retry)]
    assert retry.wait_s == 0 and retry.error_type == "bad_request"
    assert "responseLogprobs" in server.requests[0].body["generationConfig"]
    assert "generationConfig" not in server.requests[1].body or \
        "responseLogprobs" not in server.requests[1].body["generationConfig"]
    await collect(hosted("gemini").stream(_request("gemini-refuses")))  # a new backend: still remembered
    assert "responseLogprobs" not in server.requests[2].body.get("generationConfig", {})


# ---- the real llama-cpp-python server (SmolLM2) ------------------------------------------------------


async def test_real_llama_cpp_server_probabilities_on_chat_and_completions(llama_server, tmp_path):
    import math

    env = {"PLAYGROUND_HOME": str(tmp_path), "OPENAI_BASE_URL": llama_server, "OLLAMA_HOST": "127.0.0.1:9"}
    runtime = Runtime(Settings.load(env=env, cwd=tmp_path))
    try:
        chat = await compare("Say hi.", ["openai:smollm2"], runtime=runtime, logprobs=3, max_tokens=6,
                             temperature=0.0)
        complete = await compare("The capital of France is", ["openai:smollm2"], runtime=runtime,
                                 mode="complete", logprobs=2, max_tokens=3, temperature=0.0)
        score = await compare("The cat sat on the mat.", ["openai:smollm2"], runtime=runtime, mode="score")
    finally:
        await runtime.aclose()
    for doc, k in ((chat, 3), (complete, 2)):
        out = doc["turns"][0]["outputs"][0]
        assert out["status"] == "ok", out["error"]
        assert out["logprobs"] == {"top_k": k, "kind": "provider"}
        assert "".join(t for t, _, _ in out["tokens"]) == out["text"]  # one row per token of the answer
        for _, lp, top in out["tokens"]:
            assert len(top) == k and lp <= 0
            assert top[0][1] == pytest.approx(lp, abs=1e-4)  # greedy: the chosen token is the top-1
            assert sum(math.exp(v) for _, v in top) <= 1 + 1e-6
        assert out["metrics"]["logprob_tokens"] == len(out["tokens"])
    completed = complete["turns"][0]["outputs"][0]
    assert completed["text"].startswith(" Paris") and completed["tokens"][0][0] == " Paris"
    # the server streams an answer where an echo was asked: it does not score, and the lane says so
    refused = score["turns"][0]["outputs"][0]
    assert refused["status"] == "error"
    assert refused["error"]["message"].startswith("scoring not offered by smollm2 at 127.0.0.1:")
