"""OpenAI Chat Completions streaming — ``openai:`` and every OpenAI-compatible server.

The presets (openrouter, groq, together, mistral, deepseek, fireworks) and any compatible server
(vLLM, llama.cpp, LM Studio, LiteLLM) use this same class; only the ProviderConfig differs.
It builds the request and reads ``data:`` frames; sending, timeouts, retries and throttling are
``backends.http``'s. It does not do tools or images.

Options (``config.options``): ``max_tokens_field`` ("max_tokens" or "max_completion_tokens";
default: the latter for o1/o3/o4/gpt-5 models), ``include_usage`` (default True).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from backends import errors
from backends.base import Event, Finish, ReasoningDelta, Request, ServerMetrics, TextDelta, Usage
from backends.http import HostedBackend, HttpCall
from backends.wire import json_object, mid_stream_error, sse_events

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
          "content_filter": "content_filter"}
_NEW_TOKEN_FIELD = ("o1", "o3", "o4", "gpt-5")


def finish_event(raw: str | None) -> Finish:
    return Finish(FINISH.get(raw or "", "other"), raw=raw)


class OpenAIBackend(HostedBackend):
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"}

    def max_tokens_field(self, model: str) -> str:
        field = self.config.options.get("max_tokens_field")
        if field:
            return str(field)
        return "max_completion_tokens" if model.lower().startswith(_NEW_TOKEN_FIELD) else "max_tokens"

    def build(self, request: Request) -> HttpCall:
        p = request.params
        body: dict[str, Any] = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": True,
        }
        if self.config.options.get("include_usage", True):
            body["stream_options"] = {"include_usage": True}
        for name, value in (("temperature", p.temperature), ("top_p", p.top_p), ("seed", p.seed),
                            (self.max_tokens_field(request.model), p.max_tokens)):
            if value is not None:
                body[name] = value
        if p.stop:
            body["stop"] = list(p.stop)
        return HttpCall(f"{self.base_url}/chat/completions", body)

    async def parse(self, response: httpx.Response, request: Request) -> AsyncIterator[Event]:
        finish: str | None = None
        timings: dict[str, Any] | None = None
        done = False
        async for sse in sse_events(response, self.name):
            data = sse.data.strip()
            if data == "[DONE]":
                done = True
                break
            if not data:
                continue
            frame = json_object(data, self.name)
            if frame.get("error"):
                raise mid_stream_error(self.name, frame["error"])
            if isinstance(frame.get("timings"), dict):
                timings = frame["timings"]
            usage = frame.get("usage")
            if isinstance(usage, dict):
                yield Usage(input_tokens=usage.get("prompt_tokens"),
                            output_tokens=usage.get("completion_tokens"))
            for choice in frame.get("choices") or ():
                if choice.get("index", 0) != 0:
                    continue
                delta = choice.get("delta") or {}
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if isinstance(reasoning, str) and reasoning:
                    yield ReasoningDelta(reasoning)
                content = delta.get("content")
                if isinstance(content, str) and content:
                    yield TextDelta(content)
                finish = choice.get("finish_reason") or finish
        if not done and finish is None:
            raise errors.StreamError(
                f"stream ended before [DONE] and without a finish_reason — {self.name} cut it off; "
                "try again")
        if timings:
            yield ServerMetrics(dict(timings))
        yield finish_event(finish)

    async def list_models(self) -> list[str]:
        """The model ids the server offers (GET {base}/models)."""
        document = await self.get_json(f"{self.base_url}/models")
        items = document.get("data") if isinstance(document, dict) else None
        return sorted(str(item["id"]) for item in items or () if isinstance(item, dict) and "id" in item)
