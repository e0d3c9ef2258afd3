"""GeminiBackend against the scripted server speaking streamGenerateContent?alt=sse."""

from __future__ import annotations

import json

import pytest

from backends import errors
from backends.base import Finish, Message, Params, Request, RetryPolicy, Usage
from playground.testing import Reply, collect, kinds, reasoning_of, sse, text_of

REQUEST = Request("gemini-x", (Message("system", "Be brief."), Message("user", "Hi"),
                               Message("assistant", "Hello."), Message("user", "More?")),
                  Params(temperature=0.1, top_p=0.8, max_tokens=64, seed=5, stop=("END",)))


async def test_request_body_and_headers(server, hosted):
    await collect(hosted("gemini").stream(REQUEST))
    sent = server.requests[0]
    assert sent.path == "/v1beta/models/gemini-x:streamGenerateContent" and sent.query == "alt=sse"
    assert sent.headers["x-goog-api-key"].startswith("sk-test") and "authorization" not in sent.headers
    assert sent.body == {
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}, {"role": "model", "parts": [{"text": "Hello."}]},
                     {"role": "user", "parts": [{"text": "More?"}]}],
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "generationConfig": {"temperature": 0.1, "topP": 0.8, "maxOutputTokens": 64, "seed": 5,
                             "stopSequences": ["END"]},
    }


async def test_last_usage_wins(server, hosted):
    server.script(Reply(chunks=["a", "b", "c"], input_tokens=3, output_tokens=9))
    events = await collect(hosted("gemini").stream(REQUEST))
    usage = [s.event for s in events if isinstance(s.event, Usage)]
    assert usage[-1] == Usage(input_tokens=3, output_tokens=9)
    assert text_of(events) == "abc" and events[-1].event == Finish("stop", raw="STOP")


@pytest.mark.parametrize(("raw", "reason"), [("MAX_TOKENS", "length"), ("SAFETY", "safety"),
                                             ("RECITATION", "content_filter"), ("OTHER", "other")])
async def test_finish_reasons(raw, reason, server, hosted):
    server.script(Reply(finish=raw))
    assert (await collect(hosted("gemini").stream(REQUEST)))[-1].event == Finish(reason, raw=raw)


async def test_thought_parts_are_reasoning(server, hosted):
    server.script(Reply(reasoning=["Hmm."], chunks=["Yes."]))
    events = await collect(hosted("gemini").stream(REQUEST))
    assert reasoning_of(events) == "Hmm." and text_of(events) == "Yes."


async def test_blocked_prompt(server, hosted):
    server.script(Reply(blocked="SAFETY"))
    with pytest.raises(errors.BlockedError, match=r"^Gemini blocked the prompt \(SAFETY\)"):
        await collect(hosted("gemini").stream(REQUEST))
    assert len(server.requests) == 1


async def test_error_before_stream(server, hosted):
    server.script(Reply(status=400, message="API key not valid. Please pass a valid API key."))
    with pytest.raises(errors.BadRequestError) as caught:
        await collect(hosted("gemini").stream(REQUEST))
    assert str(caught.value).startswith("400 from Gemini: API key not valid.")
    assert caught.value.provider_type == "INVALID_ARGUMENT"


async def test_error_frame_mid_stream(server, hosted):
    server.script(Reply(error_after=2, message="internal"))
    events: list = []
    with pytest.raises(errors.StreamError, match="^Gemini reported an error mid-stream: internal"):
        await collect(hosted("gemini").stream(REQUEST), events)
    assert text_of(events) == "Hello, "


async def test_closing_without_finish_reason_is_a_stream_error(server, hosted):
    server.script(Reply(done=False))
    events: list = []
    with pytest.raises(errors.StreamError, match=r"^127\.0\.0\.1:\d+ \(gemini-compatible\) closed the stream "
                       "without a finishReason"):
        await collect(hosted("gemini").stream(REQUEST), events)
    assert text_of(events) == "Hello, world!" and "finish" not in kinds(events)


async def test_malformed_frame(server, hosted):
    server.script(Reply(malformed_after=1))
    with pytest.raises(errors.StreamError, match="malformed frame"):
        await collect(hosted("gemini").stream(REQUEST))


async def test_error_body_wrapped_in_a_list(server, hosted):
    server.script(Reply(status=404, body=[{"error": {"code": 404, "message": "models/x is not found",
                                                     "status": "NOT_FOUND"}}]))
    with pytest.raises(errors.BadRequestError, match=r"^404 from Gemini: models/x is not found — check the model name"):
        await collect(hosted("gemini").stream(REQUEST))


def frame(parts=None, finish=None, usage=None, **extra) -> dict:
    candidate: dict = {"index": 0}
    if parts is not None:
        candidate["content"] = {"role": "model", "parts": parts}
    if finish:
        candidate["finishReason"] = finish
    out: dict = {"candidates": [candidate], **extra}
    if usage:
        out["usageMetadata"] = usage
    return out


async def test_several_parts_in_one_candidate(server, hosted):
    server.script(Reply(raw=[
        sse(frame([{"text": "The user asks. ", "thought": True}, {"text": "Plan."}, {"text": " Done.",
                                                                                  "thoughtSignature": "c2ln"}],
                  usage={"promptTokenCount": 3, "thoughtsTokenCount": 5})),
        sse(frame([{"text": ""}], "STOP", {"promptTokenCount": 3, "candidatesTokenCount": 2,
                                           "thoughtsTokenCount": 5, "totalTokenCount": 10}))]))
    events = await collect(hosted("gemini").stream(REQUEST))
    assert reasoning_of(events) == "The user asks. " and text_of(events) == "Plan. Done."
    assert [s.event for s in events if isinstance(s.event, Usage)][-1] == Usage(input_tokens=3, output_tokens=7)


async def test_safety_stop_after_some_text(server, hosted):
    ratings = [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": True}]
    server.script(Reply(raw=[sse(frame([{"text": "Step one"}])), sse(frame(None, "SAFETY", safetyRatings=ratings))]))
    events = await collect(hosted("gemini").stream(REQUEST))
    assert text_of(events) == "Step one" and events[-1].event == Finish("safety", raw="SAFETY")


async def test_blocked_prompt_with_empty_candidates(server, hosted):
    server.script(Reply(raw=[sse({"candidates": [], "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}})]))
    with pytest.raises(errors.BlockedError, match=r"\(PROHIBITED_CONTENT\)"):
        await collect(hosted("gemini").stream(REQUEST))


async def test_answer_without_alt_sse_is_one_json_array(server, hosted):
    # a gateway that drops the query string: the whole stream as one JSON array
    frames = [frame([{"text": "Hel"}]), frame([{"text": "lo ✓"}], "MAX_TOKENS",
                                                {"promptTokenCount": 2, "candidatesTokenCount": 2})]
    server.script(Reply(raw=[json.dumps(frames, ensure_ascii=False).encode()], media_type="application/json"))
    events = await collect(hosted("gemini").stream(REQUEST))
    assert text_of(events) == "Hello ✓" and events[-1].event == Finish("length", raw="MAX_TOKENS")
    assert [s.event for s in events if isinstance(s.event, Usage)] == [Usage(input_tokens=2, output_tokens=2)]


async def test_json_array_with_an_error(server, hosted):
    body = [{"error": {"code": 500, "message": "An internal error has occurred.", "status": "INTERNAL"}}]
    server.script(Reply(raw=[json.dumps(body).encode()], media_type="application/json"))
    with pytest.raises(errors.StreamError, match="An internal error has occurred"):
        await collect(hosted("gemini", retry=RetryPolicy(max_tries=1)).stream(REQUEST))


async def test_last_frame_without_a_blank_line_is_not_lost(server, hosted):
    last = sse(frame([{"text": "lo"}], "STOP")).rstrip(b"\n") + b"\r\n"  # one line end, no blank line
    server.script(Reply(raw=[sse(frame([{"text": "Hel"}])), last]))
    events = await collect(hosted("gemini").stream(REQUEST))
    assert text_of(events) == "Hello" and events[-1].event == Finish("stop", raw="STOP")
