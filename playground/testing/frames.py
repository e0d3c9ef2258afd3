"""What a scripted reply looks like on the wire, per protocol (openai, anthropic, gemini, ollama).

Each ``Wire`` renders the frames of docs/protocols.md — head, one delta per chunk, tail, a mid-stream
error frame, a malformed frame, and the error body sent before any stream. It only renders
bytes; ``servers.py`` decides when to send them and records what came in.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Defaults: a normal four-chunk stream with usage and a stop."""

    chunks: Sequence[str] = ("Hello", ", ", "world", "!")
    reasoning: Sequence[str] = ()  # reasoning chunks streamed before the text
    delay: float = 0.0  # seconds before each chunk
    header_delay: float = 0.0  # before the response headers (first-byte timeouts)
    first_delay: float = 0.0  # after the headers, before the first frame
    usage: bool = True  # report token usage (openai: only if the request asked for it)
    input_tokens: int = 7
    output_tokens: int | None = None  # None: one per chunk
    finish: str | None = None  # None: the protocol's normal stop; "": send no finish reason
    done: bool = True  # send the end marker ([DONE], message_stop, the done line)
    status: int = 200  # non-2xx: an error before the stream
    body: Any = None  # that error's body (None: the protocol's shape around `message`)
    message: str = "scripted error"
    headers: Mapping[str, str] = field(default_factory=dict)
    error_after: int | None = None  # an error frame after this many chunks
    error_status: int = 500  # the code that error frame carries
    cut_after: int | None = None  # close the connection after this many chunks
    malformed_after: int | None = None  # a malformed JSON frame after this many chunks
    stall_after: int | None = None  # sleep `stall` seconds after this many chunks
    stall: float = 0.0
    timings: Mapping[str, Any] | None = None  # openai: llama.cpp's `timings` on the last chunk
    usage_choices_null: bool = False  # openai: `"choices": null` in the usage chunk
    blocked: str | None = None  # gemini: promptFeedback.blockReason, no candidates
    raw: Sequence[bytes] | None = None  # send exactly these bytes, one write each (`delay` before each),
    #                                     instead of the rendered stream: wire quirks, split UTF-8, CRLF
    media_type: str | None = None  # the 200 answer's content-type (None: the protocol's own)
    answer_model: str | None = None  # the model the answer names (None: the one asked for)

    @classmethod
    def paced(cls, chunks: int = 200, seconds: float = 1.0, text: str = "tok ", **fields: Any) -> Reply:
        """A steady stream for benchmarks: ``chunks`` pieces of ``text`` spread over ``seconds``."""
        return cls(chunks=(text,) * chunks, delay=seconds / chunks, **fields)

    @property
    def output_count(self) -> int:
        return self.output_tokens if self.output_tokens is not None else len(self.chunks)


def sse(obj: Any, event: str | None = None, eol: str = "\n") -> bytes:
    """One server-sent event; non-ASCII goes out as UTF-8, as most servers send it."""
    head = f"event: {event}{eol}" if event else ""
    return f"{head}data: {json.dumps(obj, ensure_ascii=False)}{eol}{eol}".encode()


class Wire(ABC):
    media_type = "text/event-stream"
    default_finish = "stop"

    def head(self, reply: Reply, model: str) -> list[bytes]:
        return []

    @abstractmethod
    def delta(self, text: str, reasoning: bool, index: int, reply: Reply, model: str) -> bytes:
        """One text (or reasoning) chunk as the protocol frames it."""

    @abstractmethod
    def tail(self, reply: Reply, model: str, request: Any) -> list[bytes]:
        """The frames after the last chunk: finish, usage, end marker."""

    @abstractmethod
    def error_frame(self, reply: Reply) -> bytes:
        """An error in the middle of the stream."""

    def malformed(self) -> bytes:
        return b'data: {"choices": [\n\n'

    def error_body(self, reply: Reply) -> Any:
        return {"error": {"message": reply.message, "type": "error", "code": reply.status}}

    def finish(self, reply: Reply) -> str | None:
        return self.default_finish if reply.finish is None else (reply.finish or None)


class OpenAIWire(Wire):
    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def head(self, reply: Reply, model: str) -> list[bytes]:
        return [sse(self._chunk(model, {"role": "assistant", "content": ""}))]

    def delta(self, text: str, reasoning: bool, index: int, reply: Reply, model: str) -> bytes:
        return sse(self._chunk(model, {"reasoning_content" if reasoning else "content": text}))

    def tail(self, reply: Reply, model: str, request: Any) -> list[bytes]:
        frames = []
        finish = self.finish(reply)
        if finish or reply.timings:
            last = self._chunk(model, {}, finish)
            if reply.timings:
                last["timings"] = dict(reply.timings)
            frames.append(sse(last))
        wants = isinstance(request, dict) and (request.get("stream_options") or {}).get("include_usage")
        if reply.usage and wants:
            frames.append(sse({"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": model,
                                "choices": None if reply.usage_choices_null else [],
                                "usage": {"prompt_tokens": reply.input_tokens,
                                          "completion_tokens": reply.output_count,
                                          "total_tokens": reply.input_tokens + reply.output_count}}))
        if reply.done:
            frames.append(b"data: [DONE]\n\n")
        return frames

    def error_frame(self, reply: Reply) -> bytes:
        return sse({"error": {"message": reply.message, "type": "server_error", "param": None,
                               "code": reply.error_status}})


_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
                    529: "overloaded_error"}


class AnthropicWire(Wire):
    default_finish = "end_turn"

    def head(self, reply: Reply, model: str) -> list[bytes]:
        usage = {"input_tokens": reply.input_tokens, "output_tokens": 1} if reply.usage else {}
        return [
            sse({"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "content": [], "model": model,
                "stop_reason": None, "usage": usage}}, "message_start"),
            sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                 "content_block_start"),
            sse({"type": "ping"}, "ping"),
        ]

    def delta(self, text: str, reasoning: bool, index: int, reply: Reply, model: str) -> bytes:
        delta = {"type": "thinking_delta", "thinking": text} if reasoning else {"type": "text_delta", "text": text}
        return sse({"type": "content_block_delta", "index": 0, "delta": delta}, "content_block_delta")

    def tail(self, reply: Reply, model: str, request: Any) -> list[bytes]:
        message_delta: dict[str, Any] = {"type": "message_delta",
                                         "delta": {"stop_reason": self.finish(reply), "stop_sequence": None}}
        if reply.usage:
            message_delta["usage"] = {"output_tokens": reply.output_count}
        frames = [sse({"type": "content_block_stop", "index": 0}, "content_block_stop"),
                  sse(message_delta, "message_delta")]
        if reply.done:
            frames.append(sse({"type": "message_stop"}, "message_stop"))
        return frames

    def error_frame(self, reply: Reply) -> bytes:
        kind = _ANTHROPIC_TYPES.get(reply.error_status, "api_error")
        return sse({"type": "error", "error": {"type": kind, "message": reply.message}}, "error")

    def malformed(self) -> bytes:
        return b"event: content_block_delta\ndata: {bad json\n\n"

    def error_body(self, reply: Reply) -> Any:
        kind = _ANTHROPIC_TYPES.get(reply.status, "api_error")
        return {"type": "error", "error": {"type": kind, "message": reply.message}}


_GOOGLE_STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
                  429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}


class GeminiWire(Wire):
    default_finish = "STOP"

    def _frame(self, parts: list[dict[str, Any]], reply: Reply, count: int, model: str,
               finish: str | None = None) -> bytes:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        frame: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
        if reply.usage:
            frame["usageMetadata"] = {"promptTokenCount": reply.input_tokens, "candidatesTokenCount": count,
                                      "totalTokenCount": reply.input_tokens + count}
        return sse(frame)

    def delta(self, text: str, reasoning: bool, index: int, reply: Reply, model: str) -> bytes:
        part = {"text": text, "thought": True} if reasoning else {"text": text}
        return self._frame([part], reply, min(index + 1, reply.output_count), model)

    def tail(self, reply: Reply, model: str, request: Any) -> list[bytes]:
        finish = self.finish(reply)
        if not finish or not reply.done:
            return []
        return [self._frame([{"text": ""}], reply, reply.output_count, model, finish)]

    def blocked(self, reply: Reply) -> bytes:
        return sse({"promptFeedback": {"blockReason": reply.blocked},
                     "usageMetadata": {"promptTokenCount": reply.input_tokens, "totalTokenCount": reply.input_tokens}})

    def error_frame(self, reply: Reply) -> bytes:
        return sse({"error": {"code": reply.error_status, "message": reply.message, "status": "INTERNAL"}})

    def error_body(self, reply: Reply) -> Any:
        return {"error": {"code": reply.status, "message": reply.message,
                          "status": _GOOGLE_STATUS.get(reply.status, "INTERNAL")}}


class OllamaWire(Wire):
    media_type = "application/x-ndjson"

    def _line(self, obj: Any) -> bytes:
        return (json.dumps(obj, ensure_ascii=False) + "\n").encode()

    def delta(self, text: str, reasoning: bool, index: int, reply: Reply, model: str) -> bytes:
        message = {"role": "assistant", "content": "", "thinking": text} if reasoning else {
            "role": "assistant", "content": text}
        return self._line({"model": model, "created_at": "2026-11-26T09:00:00Z", "message": message, "done": False})

    def tail(self, reply: Reply, model: str, request: Any) -> list[bytes]:
        if not reply.done:
            return []
        final: dict[str, Any] = {"model": model, "created_at": "2026-11-26T09:00:01Z",
                                 "message": {"role": "assistant", "content": ""}, "done": True,
                                 "done_reason": self.finish(reply), "total_duration": 8113331500,
                                 "load_duration": 6396458, "prompt_eval_duration": 398801000,
                                 "eval_duration": 7701267000}
        if reply.usage:
            final.update(prompt_eval_count=reply.input_tokens, eval_count=reply.output_count)
        return [self._line(final)]

    def error_frame(self, reply: Reply) -> bytes:
        return self._line({"error": reply.message})

    def malformed(self) -> bytes:
        return b'{"model": bad json\n'

    def error_body(self, reply: Reply) -> Any:
        return {"error": reply.message}


WIRES: dict[str, Wire] = {"openai": OpenAIWire(), "anthropic": AnthropicWire(), "gemini": GeminiWire(),
                          "ollama": OllamaWire()}
