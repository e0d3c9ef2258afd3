"""Google Gemini ``streamGenerateContent?alt=sse`` (``gemini:``).

Builds the request (roles user/model, ``systemInstruction``, ``generationConfig``) and reads
its ``data:`` frames; the stream has no end marker, so a stream that closes without a
``finishReason`` counts as cut off (the same frames as one JSON array, when a gateway drops
``alt=sse``, are read too). A blocked prompt raises BlockedError; ``finishReason``
SAFETY ends with Finish("safety"). Token probabilities: ``responseLogprobs`` asks, each frame's
``logprobsResult`` answers. Gemini has no raw completion mode. Sending, timeouts, retries (including RetryInfo's
``retryDelay``) and throttling are ``backends.http``'s. It does not do tools or images.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from backends import errors
from backends.base import Answered, Event, Finish, ReasoningDelta, Request, TextDelta, Usage
from backends.http import HostedBackend, HttpCall
from backends.logprob_wire import Rows, gemini_rows
from backends.wire import duration_seconds, is_json, json_frames, json_object, mid_stream_error, sse_events

FINISH = {"STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "safety", "IMAGE_SAFETY": "safety",
          "RECITATION": "content_filter", "BLOCKLIST": "content_filter",
          "PROHIBITED_CONTENT": "content_filter", "SPII": "content_filter",
          "MALFORMED_FUNCTION_CALL": "other", "OTHER": "other"}
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"


def _usage(meta: dict[str, Any]) -> Usage:
    output = meta.get("candidatesTokenCount")
    thoughts = meta.get("thoughtsTokenCount")
    if output is not None or thoughts is not None:
        output = int(output or 0) + int(thoughts or 0)
    return Usage(input_tokens=meta.get("promptTokenCount"), output_tokens=output)


class GeminiBackend(HostedBackend):
    protocol = "gemini-compatible"

    def auth_headers(self) -> dict[str, str]:
        return {"x-goog-api-key": str(self.config.api_key)}

    def build(self, request: Request) -> HttpCall:
        p = request.params
        body: dict[str, Any] = {"contents": [
            {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
            for m in request.messages if m.role != "system"
        ]}
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        if system:
            body["systemInstruction"] = {"parts": [{"text": system}]}
        config = {name: value for name, value in (
            ("temperature", p.temperature), ("topP", p.top_p), ("maxOutputTokens", p.max_tokens),
            ("seed", p.seed)) if value is not None}
        if p.stop:
            config["stopSequences"] = list(p.stop)
        if p.logprobs is not None:  # the chosen tokens' figures; "logprobs": how many alternatives
            config["responseLogprobs"] = True
            if p.logprobs:
                config["logprobs"] = p.logprobs
        if config:
            body["generationConfig"] = config
        model = request.model.removeprefix("models/")
        return HttpCall(f"{self.base_url}/v1beta/models/{model}:streamGenerateContent?alt=sse", body)

    def retry_after_from_body(self, payload: Any) -> float | None:
        error = payload.get("error") if isinstance(payload, dict) else None
        details = error.get("details") if isinstance(error, dict) else None
        for detail in details or ():
            if isinstance(detail, dict) and detail.get("@type") == _RETRY_INFO:
                return duration_seconds(str(detail.get("retryDelay", "")))
        return None

    async def parse(self, response: httpx.Response, request: Request) -> AsyncIterator[Event]:
        finish: str | None = None
        last_usage: Usage | None = None
        answered, rows = False, Rows(request.params.logprobs)
        async for frame in self._frames(response):
            if frame.get("error"):
                raise mid_stream_error(self.name, frame["error"], self.where)
            if not answered and isinstance(frame.get("modelVersion"), str) and frame["modelVersion"]:
                answered = True
                yield Answered(frame["modelVersion"])
            if isinstance(frame.get("usageMetadata"), dict):
                usage = _usage(frame["usageMetadata"])
                if usage != last_usage:
                    last_usage = usage
                    yield usage
            candidates = frame.get("candidates") or []
            block = (frame.get("promptFeedback") or {}).get("blockReason")
            if block and not candidates:
                raise errors.BlockedError(
                    f"{self.name} blocked the prompt ({block}) — rephrase it, or try another model")
            for candidate in candidates[:1]:
                for part in (candidate.get("content") or {}).get("parts") or ():
                    text = part.get("text")
                    if isinstance(text, str) and text:
                        yield ReasoningDelta(text) if part.get("thought") else TextDelta(text)
                if rows.k is not None:
                    for event in rows.events(gemini_rows(candidate.get("logprobsResult"), rows.k)):
                        yield event
                finish = candidate.get("finishReason") or finish
        if finish is None:
            raise errors.StreamError(f"{self.where} closed the stream without a finishReason — the "
                                     "answer is incomplete; the server's log may say why")
        yield Finish(FINISH.get(finish, "other"), raw=finish)

    async def _frames(self, response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
        """The ``data:`` frames; or, when ``alt=sse`` was lost on the way, the same frames as
        one JSON array."""
        if is_json(response):
            for frame in await json_frames(response, self.name):
                yield frame
            return
        async for sse in sse_events(response, self.name):
            if sse.data.strip():
                yield json_object(sse.data, self.name)

    async def list_models(self) -> list[str]:
        """The models that can generate text (GET {base}/v1beta/models, every page; only those whose
        ``supportedGenerationMethods`` has generateContent: embedding models are left out)."""
        names: list[str] = []
        token: str | None = None
        for _ in range(20):  # pages of 1000: far more pages than there are models
            query = "?pageSize=1000" + (f"&pageToken={quote(token, safe='')}" if token else "")
            document = await self.get_json(f"{self.base_url}/v1beta/models{query}")
            items = document.get("models") if isinstance(document, dict) else None
            for m in items or ():
                if not isinstance(m, dict):
                    continue
                methods = m.get("supportedGenerationMethods")
                if isinstance(m.get("name"), str) and isinstance(methods, list) and "generateContent" in methods:
                    names.append(m["name"].removeprefix("models/"))
            token = document.get("nextPageToken") if isinstance(document, dict) else None
            if not isinstance(token, str) or not token:
                break
        return sorted(set(names))
