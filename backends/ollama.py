"""Ollama's native ``/api/chat`` NDJSON stream (``ollama:``) — ``/api/generate`` with ``raw: true``
in complete mode — its token probabilities (``logprobs`` on each line), and its model list.

Builds the request (sampling under ``options``, ``num_predict`` for max tokens) and reads one
JSON object per line; the last (``done: true``) carries the counts and the server's own
durations, which go to ServerMetrics in milliseconds — never mixed with client timings.
Sending, timeouts, retries and throttling are ``backends.http``'s. No key is needed.

Options: ``keep_alive`` (passed through), ``num_ctx``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from backends import errors
from backends.base import Answered, Event, Finish, ReasoningDelta, Request, ServerMetrics, TextDelta, Usage
from backends.http import HostedBackend, HttpCall
from backends.logprob_wire import Rows, content_rows
from backends.logprob_wire import document as raw_document
from backends.wire import mid_stream_error, ndjson_objects

FINISH = {"stop": "stop", "length": "length"}
_DURATIONS = (("load_duration", "load_ms"), ("prompt_eval_duration", "prompt_eval_ms"),
              ("eval_duration", "eval_ms"), ("total_duration", "total_ms"))


def server_metrics(final: dict[str, Any]) -> dict[str, Any]:
    """Ollama's figures about itself: durations ns -> ms, and its token counts."""
    values: dict[str, Any] = {}
    for raw, name in _DURATIONS:
        if isinstance(final.get(raw), int | float):
            values[name] = final[raw] / 1e6
    for name in ("eval_count", "prompt_eval_count"):
        if final.get(name) is not None:
            values[name] = final[name]
    return values


class OllamaBackend(HostedBackend):
    needs_key = False
    modes = ("chat", "complete")  # complete: /api/generate with raw: true
    accept = "application/x-ndjson"
    protocol = "Ollama"

    @property
    def base_url(self) -> str:
        base = super().base_url
        return base if "://" in base else f"http://{base}"

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"}

    def hint(self, status: int, request: Request | None) -> str | None:
        if status == 404 and request is not None:
            return f"pull it first: ollama pull {request.model}"
        return super().hint(status, request)

    def build(self, request: Request) -> HttpCall:
        p = request.params
        options = {name: value for name, value in (
            ("temperature", p.temperature), ("top_p", p.top_p), ("num_predict", p.max_tokens),
            ("seed", p.seed), ("num_ctx", self.config.options.get("num_ctx"))) if value is not None}
        if p.stop:
            options["stop"] = list(p.stop)
        body: dict[str, Any] = {"model": request.model, "stream": True}
        if p.mode == "complete":  # the document as it is: no template, no system prompt
            body.update(prompt=raw_document(request.messages), raw=True)
        else:
            body["messages"] = [{"role": m.role, "content": m.content} for m in request.messages]
        if p.logprobs is not None:
            body["logprobs"], body["top_logprobs"] = True, p.logprobs
        if options:
            body["options"] = options
        if self.config.options.get("keep_alive") is not None:
            body["keep_alive"] = self.config.options["keep_alive"]
        return HttpCall(f"{self.base_url}/api/{'generate' if p.mode == 'complete' else 'chat'}", body)

    async def parse(self, response: httpx.Response, request: Request) -> AsyncIterator[Event]:
        answered, rows = False, Rows(request.params.logprobs)
        async for frame in ndjson_objects(response, self.name):
            if frame.get("error"):
                raise mid_stream_error(self.name, frame["error"], self.where)
            if not answered and isinstance(frame.get("model"), str) and frame["model"]:
                answered = True
                yield Answered(frame["model"])
            message = frame.get("message") or {}
            if isinstance(message, dict) and isinstance(message.get("thinking"), str) and message["thinking"]:
                yield ReasoningDelta(message["thinking"])
            text = message.get("content") if isinstance(message, dict) else None
            text = frame.get("response") if text is None else text  # /api/generate: "response"
            if isinstance(text, str) and text:
                yield TextDelta(text)
            if rows.k is not None:
                for event in rows.events(content_rows(frame.get("logprobs"), rows.k)):
                    yield event
            if frame.get("done"):
                if frame.get("eval_count") is not None or frame.get("prompt_eval_count") is not None:
                    yield Usage(input_tokens=frame.get("prompt_eval_count"),
                                output_tokens=frame.get("eval_count"))
                metrics = server_metrics(frame)
                if metrics:
                    yield ServerMetrics(metrics)
                reason = frame.get("done_reason")
                yield Finish(FINISH.get(reason or "stop", "other"), raw=reason)
                return
        raise errors.StreamError(f"{self.where} closed the stream before its done line — the answer "
                                 "is incomplete; the server's log may say why")

    async def list_models(self) -> list[str]:
        """The models pulled on this Ollama server (GET /api/tags)."""
        document = await self.get_json(f"{self.base_url}/api/tags")
        models = document.get("models") if isinstance(document, dict) else None
        return sorted(str(m["name"]) for m in models or () if isinstance(m, dict) and "name" in m)
