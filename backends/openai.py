"""OpenAI Chat Completions streaming — ``openai:`` and every OpenAI-compatible server.

The presets (openrouter, groq, together, mistral, deepseek, fireworks) and any compatible server
(vLLM, llama.cpp, LM Studio, LiteLLM) use this same class; only the ProviderConfig differs.
It builds the request and reads ``data:`` frames — or one ``chat.completion`` object from a
server that ignores ``stream`` — with the dialects' reasoning (DeepSeek ``reasoning_content``,
OpenRouter ``reasoning``, Mistral ``thinking`` parts) kept apart from the answer. Sending,
timeouts, retries and throttling are ``backends.http``'s. It does not do tools or images.

Options (``config.options``): ``max_tokens_field`` ("max_tokens" or "max_completion_tokens";
default: the latter for o1/o3/o4/gpt-5 models), ``include_usage`` (default True).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from backends import errors
from backends.base import Answered, Event, Finish, ReasoningDelta, Request, ServerMetrics, TextDelta, Usage
from backends.http import HostedBackend, HttpCall
from backends.wire import is_json, json_object, mid_stream_error, one_json_answer, sse_events

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
          "content_filter": "content_filter"}
_NEW_TOKEN_FIELD = ("o1", "o3", "o4", "gpt-5")


def finish_event(raw: str | None) -> Finish:
    return Finish(FINISH.get(raw or "", "other"), raw=raw)


class OpenAIBackend(HostedBackend):
    protocol = "openai-compatible"
    listed: list[str] | None = None  # the server's model list, once discovery has read it
    planned_modes = ("complete", "score")  # /v1/completions (echo + logprobs for score): not wired yet

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
        state = _State(self.name, self.where)
        if is_json(response):  # a server that ignored "stream": one chat.completion object
            completion = await one_json_answer(
                response, self.name, "a chat completion",
                lambda frame: isinstance(frame.get("choices"), list) or _error_in(frame))
            for event in _frame_events(completion, state):
                yield event
            state.done = True
        else:
            async for sse in sse_events(response, self.name):
                data = sse.data.strip()
                state.frames += 1
                if data == "[DONE]":
                    state.done = True
                    break
                if not data:
                    continue
                frame = json_object(data, self.name)
                if sse.event == "error":
                    raise mid_stream_error(self.name, frame, self.where)
                for event in _frame_events(frame, state):
                    yield event
        if not state.done and state.finish is None:
            if state.frames == 0:  # closed before a word: ask once more, unstreamed, for the reason
                raise await self.probe(self._probe_call(request)) or errors.StreamError(
                    f"{self.where} closed the stream before sending anything — its log may say why")
            raise errors.StreamError(f"{self.where} closed the stream before [DONE] — the answer is "
                                     "incomplete; the server's log may say why")
        if state.answered is None or state.answered == request.model:
            if (echo := self._only_listed(request.model)) is not None:
                yield Answered(echo)
        if state.timings:
            yield ServerMetrics(dict(state.timings))
        yield finish_event(state.finish)

    def _probe_call(self, request: Request) -> HttpCall:
        """The request unstreamed, for one token: enough for the server to check the prompt."""
        call = self.build(request)
        body = {k: v for k, v in call.body.items() if k not in ("stream", "stream_options")}
        body[self.max_tokens_field(request.model)] = 1
        return HttpCall(call.url, body, call.headers)

    def _only_listed(self, model: str) -> str | None:
        """The one model a compatible server lists when it was asked for another: a server that
        echoes the name it was sent (llama.cpp's) answers with the model it has, whatever the name."""
        listed = self.listed
        if listed is not None and len(listed) == 1 and model not in listed:
            return listed[0]
        return None

    async def list_models(self) -> list[str]:
        """The model ids the server offers (GET {base}/models); kept, for ``_only_listed``."""
        document = await self.get_json(f"{self.base_url}/models")
        items = document.get("data") if isinstance(document, dict) else None
        self.listed = sorted(str(item["id"]) for item in items or () if isinstance(item, dict) and "id" in item)
        return self.listed


@dataclass
class _State:
    provider: str
    where: str
    finish: str | None = None
    timings: dict[str, Any] | None = None
    done: bool = False
    frames: int = 0  # SSE events read, [DONE] included
    answered: str | None = None  # the first chunk's ``model``


def _error_in(frame: dict[str, Any]) -> Any:
    """The error a frame reports: ``{"error": {...}}``, or vLLM's ``{"object": "error", ...}``."""
    return frame.get("error") or (frame if frame.get("object") == "error" else None)


def _frame_events(frame: dict[str, Any], state: _State) -> Iterator[Event]:
    """The events of one chunk (or of a whole chat.completion: ``message`` instead of ``delta``)."""
    if error := _error_in(frame):
        raise mid_stream_error(state.provider, error, state.where)
    if state.answered is None and isinstance(frame.get("model"), str) and frame["model"]:
        state.answered = frame["model"]
        yield Answered(state.answered)
    if isinstance(frame.get("timings"), dict):
        state.timings = frame["timings"]
    for usage in (frame.get("usage"), (frame.get("x_groq") or {}).get("usage")):  # Groq: in x_groq
        if isinstance(usage, dict):
            yield Usage(input_tokens=usage.get("prompt_tokens"), output_tokens=usage.get("completion_tokens"))
    for choice in frame.get("choices") or ():
        if choice.get("index", 0) != 0:
            continue
        delta = choice.get("delta") or choice.get("message") or {}
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")  # DeepSeek, OpenRouter
        if isinstance(reasoning, str) and reasoning:
            yield ReasoningDelta(reasoning)
        yield from _content_events(delta.get("content"))
        state.finish = choice.get("finish_reason") or state.finish


def _content_events(content: Any) -> Iterator[Event]:
    """A string, or Mistral's list of parts: {"type": "text", "text"} and
    {"type": "thinking", "thinking": [{"type": "text", "text"}]} (reasoning, kept apart)."""
    if isinstance(content, str):
        if content:
            yield TextDelta(content)
        return
    for part in content if isinstance(content, list) else ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str) and part["text"]:
            yield TextDelta(part["text"])
        elif part.get("type") == "thinking":
            inner = part.get("thinking")
            pieces = [inner] if isinstance(inner, str) else [
                p.get("text") for p in (inner if isinstance(inner, list) else ()) if isinstance(p, dict)]
            text = "".join(p for p in pieces if isinstance(p, str))
            if text:
                yield ReasoningDelta(text)
