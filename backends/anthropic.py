"""Anthropic Messages streaming (``anthropic:``).

Builds ``POST {base}/v1/messages`` (system prompt as the top-level ``system``, ``max_tokens``
always sent — the API requires it) and reads its named SSE events — or one whole Message object
from a proxy that ignores ``stream``. Sending, timeouts, retries and throttling are
``backends.http``'s. It does not do tools, images or prompt caching.

Options: ``anthropic_version`` (default "2023-06-01").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote

import httpx

from backends import errors
from backends.base import Answered, Event, Finish, ReasoningDelta, Request, TextDelta, Usage
from backends.http import HostedBackend, HttpCall
from backends.wire import is_json, json_object, mid_stream_error, one_json_answer, sse_events

FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
          "refusal": "content_filter", "model_context_window_exceeded": "length"}


def _input_tokens(usage: dict[str, Any]) -> int | None:
    """All prompt tokens: fresh ones plus those written to or read from the prompt cache."""
    if usage.get("input_tokens") is None:
        return None
    return sum(int(usage.get(k) or 0) for k in
               ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))


def _part_event(part: dict[str, Any]) -> Event | None:
    """Text or thinking from a delta, or from a block's start (which may already carry some).
    Signatures, redacted thinking and tool input are not text."""
    kind = part.get("type")
    if kind in ("text", "text_delta") and isinstance(part.get("text"), str) and part["text"]:
        return TextDelta(part["text"])
    if kind in ("thinking", "thinking_delta") and isinstance(part.get("thinking"), str) and part["thinking"]:
        return ReasoningDelta(part["thinking"])
    return None


def _is_message(frame: dict[str, Any]) -> bool:
    """A whole Message, or the ``{"type": "error"}`` object that replaces it."""
    return frame.get("type") == "error" or (
        frame.get("type", "message") == "message" and isinstance(frame.get("content"), list))


def _answered(message: Any) -> Iterator[Event]:
    """The model a Message names (``message_start``'s, or a whole Message's)."""
    if isinstance(message, dict) and isinstance(message.get("model"), str) and message["model"]:
        yield Answered(message["model"])


def _message_events(message: dict[str, Any], provider: str, where: str) -> Iterator[Event]:
    """The events of one whole Message (``content`` blocks instead of deltas), or the error a
    ``{"type": "error"}`` object reports."""
    if message.get("type") == "error":
        raise mid_stream_error(provider, message.get("error", message), where)
    yield from _answered(message)
    usage = message.get("usage") or {}
    if _input_tokens(usage) is not None or usage.get("output_tokens") is not None:
        yield Usage(input_tokens=_input_tokens(usage), output_tokens=usage.get("output_tokens"))
    for block in message["content"]:
        if isinstance(block, dict) and (event := _part_event(block)) is not None:
            yield event
    stop_reason = message.get("stop_reason")
    yield Finish(FINISH.get(stop_reason or "", "other"), raw=stop_reason)


class AnthropicBackend(HostedBackend):
    protocol = "anthropic-compatible"

    def auth_headers(self) -> dict[str, str]:
        return {"x-api-key": str(self.config.api_key)}

    def build(self, request: Request) -> HttpCall:
        p = request.params
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": p.max_tokens if p.max_tokens is not None else self.config.default_max_tokens,
            "messages": [{"role": m.role, "content": m.content}
                         for m in request.messages if m.role != "system"],
            "stream": True,
        }
        if system:
            body["system"] = system
        if p.temperature is not None:
            body["temperature"] = p.temperature
        if p.top_p is not None:
            body["top_p"] = p.top_p
        if p.stop:
            body["stop_sequences"] = list(p.stop)
        version = str(self.config.options.get("anthropic_version", "2023-06-01"))
        return HttpCall(f"{self.base_url}/v1/messages", body, {"anthropic-version": version})

    async def parse(self, response: httpx.Response, request: Request) -> AsyncIterator[Event]:
        if is_json(response):  # a proxy that ignored "stream": one Message object
            message = await one_json_answer(response, self.name, "a Message", _is_message)
            for event in _message_events(message, self.name, self.where):
                yield event
            return
        stop_reason: str | None = None
        stopped = False
        async for sse in sse_events(response, self.name):
            if sse.event == "ping" or not sse.data.strip():
                continue
            frame = json_object(sse.data, self.name)
            kind = frame.get("type") or sse.event
            if kind == "error" or sse.event == "error":
                raise mid_stream_error(self.name, frame.get("error", frame), self.where)
            if kind == "message_start":
                for event in _answered(frame.get("message")):
                    yield event
                usage = (frame.get("message") or {}).get("usage") or {}
                if _input_tokens(usage) is not None:
                    yield Usage(input_tokens=_input_tokens(usage))
            elif kind in ("content_block_start", "content_block_delta"):
                part = frame.get("content_block" if kind == "content_block_start" else "delta") or {}
                if (event := _part_event(part)) is not None:
                    yield event
            elif kind == "message_delta":
                stop_reason = (frame.get("delta") or {}).get("stop_reason") or stop_reason
                usage = frame.get("usage") or {}
                if usage.get("output_tokens") is not None or usage.get("input_tokens") is not None:
                    yield Usage(input_tokens=_input_tokens(usage), output_tokens=usage.get("output_tokens"))
            elif kind == "message_stop":
                stopped = True
                break
        if not stopped:
            raise errors.StreamError(f"{self.where} closed the stream before message_stop — the "
                                     "answer is incomplete; the server's log may say why")
        yield Finish(FINISH.get(stop_reason or "", "other"), raw=stop_reason)

    async def list_models(self) -> list[str]:
        """The models the key may use (GET {base}/v1/models, every page)."""
        version = str(self.config.options.get("anthropic_version", "2023-06-01"))
        names: list[str] = []
        after: str | None = None
        for _ in range(20):  # pages of 1000: far more pages than there are models
            query = "?limit=1000" + (f"&after_id={quote(after, safe='')}" if after else "")
            document = await self.get_json(f"{self.base_url}/v1/models{query}", {"anthropic-version": version})
            items = document.get("data") if isinstance(document, dict) else None
            names += [m["id"] for m in items or () if isinstance(m, dict) and isinstance(m.get("id"), str)]
            more = isinstance(document, dict) and document.get("has_more") is True
            after = document.get("last_id") if more else None
            if not isinstance(after, str) or not after:
                break
        return sorted(set(names))
