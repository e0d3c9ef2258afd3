"""What each provider serves (its model list, through discovery), which model answered, and what a
context overflow and a cut stream say — against the scripted server on 127.0.0.1 for every
protocol, and the real llama-cpp-python server on SmolLM2 with its 2048-token window."""

from __future__ import annotations

import pytest
from conftest import HOSTED, TEST_KEY

from backends import errors
from backends.base import Answered, Message, Params, Request
from playground.api import compare
from playground.engine import discovery
from playground.engine.runtime import Runtime
from playground.settings import Settings
from playground.testing import Reply, ScriptedServer, collect, free_port, sse

REQUEST = Request("asked-model", (Message("user", "Hi"),), Params(max_tokens=8))


def runtime_for(tmp_path, urls: dict[str, str]) -> Runtime:
    """A runtime whose providers (openai, anthropic, gemini, ollama) are at ``urls`` (by protocol)."""
    env = {"PLAYGROUND_HOME": str(tmp_path), "OLLAMA_HOST": urls["ollama"]}
    for protocol, (_, name, key_env) in HOSTED.items():
        if key_env:
            env[key_env] = TEST_KEY
            env[f"{name.upper()}_BASE_URL"] = urls[protocol]
    return Runtime(Settings.load(env=env, cwd=tmp_path))


# ---- model lists ---------------------------------------------------------------------------------


async def test_discovery_lists_every_configured_providers_models(server, tmp_path):
    server.models = ["scripted-a", "scripted-b"]
    runtime = runtime_for(tmp_path, {p: server.base_url(p) for p in HOSTED})
    try:
        ids = discovery.usable_ids(await discovery.discover(runtime))
    finally:
        await runtime.aclose()
    for provider in ("openai", "anthropic", "gemini", "ollama"):
        assert {f"{provider}:scripted-a", f"{provider}:scripted-b"} <= set(ids), provider
    assert "gemini:scripted-embedding" not in ids  # it cannot generateContent
    paths = {(r.protocol, r.path) for r in server.requests}
    assert paths == {("openai", "/v1/models"), ("anthropic", "/v1/models"), ("gemini", "/v1beta/models"),
                     ("ollama", "/api/tags")}
    sent = {r.protocol: r for r in server.requests}
    assert sent["anthropic"].headers["x-api-key"] == TEST_KEY and "anthropic-version" in sent["anthropic"].headers
    assert sent["gemini"].headers["x-goog-api-key"] == TEST_KEY
    assert sent["openai"].headers["authorization"] == f"Bearer {TEST_KEY}"


async def test_a_failing_provider_is_a_notice_without_its_key_and_the_others_still_list(server, tmp_path):
    refusing = ScriptedServer().start()  # quotes the key back, as some servers do in a 401
    refusing.default = Reply(status=401, message=f"invalid key {TEST_KEY}")
    urls = {p: server.base_url(p) for p in HOSTED} | {"gemini": refusing.base_url("gemini"),
                                                     "anthropic": f"http://127.0.0.1:{free_port()}"}
    runtime = runtime_for(tmp_path, urls)
    try:
        found = await discovery.catalog(runtime)
    finally:
        await runtime.aclose()
        refusing.stop()
    assert "openai:scripted-a" in found.ids and "ollama:scripted-a" in found.ids
    assert not any(i.startswith(("gemini:", "anthropic:")) for i in found.ids)
    why = {m.id: m.why for m in found.failures}
    assert set(why) == {"gemini:*", "anthropic:*"}
    assert why["gemini:*"].startswith("could not list gemini's models: 401") and TEST_KEY not in why["gemini:*"]
    assert "cannot reach" in why["anthropic:*"]


async def test_a_slow_provider_is_skipped_after_the_timeout(server, tmp_path):
    slow = ScriptedServer().start()
    slow.default = Reply(header_delay=discovery.LIST_TIMEOUT_S + 2)
    runtime = runtime_for(tmp_path, {p: server.base_url(p) for p in HOSTED} | {"openai": slow.base_url("openai")})
    try:
        found = await discovery.catalog(runtime)
    finally:
        await runtime.aclose()
        slow.stop()
    assert "anthropic:scripted-a" in found.ids and not any(i.startswith("openai:") for i in found.ids)
    assert [m.why for m in found.failures] == [f"no model list from openai within {discovery.LIST_TIMEOUT_S:g} s"]


async def test_the_catalog_is_kept_and_refresh_asks_again(server, tmp_path):
    runtime = runtime_for(tmp_path, {p: server.base_url(p) for p in HOSTED})
    try:
        first = await discovery.catalog(runtime)
        asked = len(server.requests)
        server.models = ["scripted-new"]
        assert (await discovery.catalog(runtime)).ids == first.ids and len(server.requests) == asked
        fresh = await discovery.catalog(runtime, refresh=True)
    finally:
        await runtime.aclose()
    assert "openai:scripted-new" in fresh.ids and "openai:scripted-a" not in fresh.ids


# ---- which model answered ------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", list(HOSTED))
async def test_each_protocol_says_which_model_answered(protocol, server, hosted):
    server.script(Reply(answer_model="other-model"))
    events = await collect(hosted(protocol).stream(REQUEST))
    assert [s.event for s in events if isinstance(s.event, Answered)] == [Answered("other-model")]


async def test_a_lane_records_answered_by_only_when_another_model_answered(server, tmp_path):
    server.by_model["nope"] = Reply(answer_model="scripted-real")
    runtime = runtime_for(tmp_path, {p: server.base_url(p) for p in HOSTED})
    try:
        doc = await compare("Hi", ["openai:nope", "openai:scripted-a", "gemini:scripted-a"], runtime=runtime)
    finally:
        await runtime.aclose()
    nope, same, gemini = doc["turns"][0]["outputs"]
    assert nope["status"] == "ok" and nope["answered_by"] == "scripted-real"
    assert "answered_by" not in same and "answered_by" not in gemini  # the model asked for answered


# ---- context overflow: every provider's wording, with its numbers ---------------------------------

OVERFLOWS = [  # (protocol, status, body, tokens asked, window)
    ("openai", 400, {"error": {  # OpenAI, vLLM, llama-cpp-python's server (its formatted message)
        "message": "This model's maximum context length is 2048 tokens. However, you requested 2257 tokens "
                   "(2256 in the messages, 1 in the completion). Please reduce the length of the messages "
                   "or completion.", "type": "invalid_request_error", "param": "messages",
        "code": "context_length_exceeded"}}, 2257, 2048),
    ("openai", 400, {"error": {  # llama.cpp's llama-server
        "code": 400, "message": "the request exceeds the available context size, try increasing it",
        "type": "exceed_context_size_error", "n_prompt_tokens": 2256, "n_ctx": 2048}}, 2256, 2048),
    ("openai", 500, {"error": {"message": "Requested tokens (2256) exceed context window of 2048",
                               "type": "internal_server_error"}}, 2256, 2048),  # a proxy passing it on
    ("anthropic", 400, {"type": "error", "error": {"type": "invalid_request_error",
                                                   "message": "prompt is too long: 208656 tokens > 200000 maximum"}},
     208656, 200000),
    ("gemini", 400, {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message":
                               "The input token count (1200293) exceeds the maximum number of tokens allowed "
                               "(1048576)."}}, 1200293, 1048576),
    ("ollama", 400, {"error": "the input length exceeds the context length"}, None, None),
]


@pytest.mark.parametrize(("protocol", "status", "body", "asked", "limit"), OVERFLOWS)
async def test_a_context_overflow_says_so_with_the_numbers(protocol, status, body, asked, limit, server, hosted):
    server.script(Reply(status=status, body=body))
    with pytest.raises(errors.ContextOverflowError) as caught:
        await collect(hosted(protocol).stream(REQUEST))
    err = caught.value
    assert (err.asked, err.limit, err.retryable) == (asked, limit, False)
    assert len(server.requests) == 1  # not retried: it cannot help, even after a 500
    text = str(err)
    assert text.startswith("the prompt is too long for the model at 127.0.0.1:")
    if asked is not None:
        assert f"{asked:,} tokens asked, the context window holds {limit:,}" in text
    assert "try again" not in text and "OpenAI" not in text


async def test_an_overflow_in_an_error_frame_mid_stream(server, hosted):
    frame = {"object": "error", "message": "This model's maximum context length is 4096 tokens. However, you "
             "requested 5000 tokens (4000 in the messages, 1000 in the completion).", "type": "BadRequestError",
             "code": 400}  # vLLM, inside a 200 stream
    server.script(Reply(raw=[sse(frame)]))
    with pytest.raises(errors.ContextOverflowError, match="5,000 tokens asked, the context window holds 4,096"):
        await collect(hosted("openai").stream(REQUEST))


async def test_a_stream_closed_before_its_first_frame_asks_once_more_for_the_reason(server, hosted):
    llama_cpp_python = {"error": {"message": "This model's maximum context length is 2048 tokens. However, you "
                                             "requested 2257 tokens (2256 in the messages, 1 in the completion).",
                                  "type": "invalid_request_error", "code": "context_length_exceeded"}}
    server.script(Reply(raw=[]), Reply(status=400, body=llama_cpp_python))
    with pytest.raises(errors.ContextOverflowError, match="2,257 tokens asked, the context window holds 2,048"):
        await collect(hosted("openai").stream(REQUEST))
    streamed, probe = server.requests
    assert streamed.body["stream"] is True
    assert "stream" not in probe.body and probe.body["max_tokens"] == 1 and probe.body["messages"] == streamed.body["messages"]


async def test_an_empty_stream_whose_second_ask_succeeds_names_the_server(server, hosted):
    server.script(Reply(raw=[]), Reply())
    with pytest.raises(errors.StreamError, match=r"^127\.0\.0\.1:\d+ \(openai-compatible\) closed the stream "
                       "before sending anything") as caught:
        await collect(hosted("openai").stream(REQUEST))
    assert "try again" not in str(caught.value)


# ---- the real llama-cpp-python server (SmolLM2, n_ctx 2048) ---------------------------------------


async def test_real_llama_cpp_server_overflow_and_the_model_that_answered(llama_server, tmp_path):
    env = {"PLAYGROUND_HOME": str(tmp_path), "OPENAI_BASE_URL": llama_server, "OLLAMA_HOST": "127.0.0.1:9"}
    runtime = Runtime(Settings.load(env=env, cwd=tmp_path))
    try:
        found = await discovery.catalog(runtime)
        assert "openai:smollm2" in found.ids  # listed by the server, not typed
        backend = runtime.backend_for(runtime.settings.providers["openai"])
        long = Request("smollm2", (Message("user", "word " * 2500),), Params(max_tokens=8))
        with pytest.raises(errors.ContextOverflowError) as caught:
            await collect(backend.stream(long))
        err = caught.value
        assert err.limit == 2048 and err.asked is not None and err.asked > 2048
        assert "tokens asked, the context window holds 2,048" in str(err)
        assert str(err).startswith("the prompt is too long for the model at 127.0.0.1:")
        # a name the server ignores: it echoes "nope", but it lists one model, and that one answered
        doc = await compare("Say hi.", ["openai:nope"], runtime=runtime, max_tokens=3, temperature=0.0)
        out = doc["turns"][0]["outputs"][0]
        assert out["status"] == "ok" and out["answered_by"] == "smollm2"
    finally:
        await runtime.aclose()
