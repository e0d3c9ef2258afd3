"""OpenAI Chat Completions streaming — ``openai:`` and every OpenAI-compatible server.

The presets (openrouter, groq, together, mistral, deepseek, fireworks) and any compatible server
(vLLM, llama.cpp, LM Studio, LiteLLM) use this same class; only the ProviderConfig differs.
It builds the request and reads ``data:`` frames — or one ``chat.completion`` object from a
server that ignores ``stream`` — with the dialects' reasoning (DeepSeek ``reasoning_content``,
OpenRouter ``reasoning``, Mistral ``thinking`` parts) kept apart from the answer, and the token
probabilities of every dialect (``backends.logprob_wire``). Complete mode uses the legacy
``/completions`` on the raw document; score mode asks it to echo the prompt with its probabilities.
Sending, timeouts, retries and throttling are ``backends.http``'s. It does not do tools or images.

Options (``config.options``): ``max_tokens_field`` ("max_tokens" or "max_completion_tokens";
default: the latter for o1/o3/o4/gpt-5 models), ``include_usage`` (default True).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import httpx

from backends import errors
from backends.base import Answered, Event, Finish, ReasoningDelta, Request, ServerMetrics, TextDelta, Usage
from backends.http import HostedBackend, HttpCall
from backends.logprob_wire import Rows, choice_rows, document, legacy_entries, scoring_refused
from backends.wire import is_json, json_object, mid_stream_error, one_json_answer, sse_events

FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
          "content_filter": "content_filter"}
_NEW_TOKEN_FIELD = ("o1", "o3", "o4", "gpt-5")


def finish_event(raw: str | None) -> Finish:
    return Finish(FINISH.get(raw or "", "other"), raw=raw)


class OpenAIBackend(HostedBackend):
    protocol = "openai-compatible"
    listed: list[str] | None = None  # the server's model list, once discovery has read it
    modes = ("chat", "complete", "score")  # complete and score: the legacy /completions

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"}

    def max_tokens_field(self, model: str) -> str:
        field = self.config.options.get("max_tokens_field")
        if field:
            return str(field)
        return "max_completion_tokens" if model.lower().startswith(_NEW_TOKEN_FIELD) else "max_tokens"

    def build(self, request: Request) -> HttpCall:
        p = request.params
        if p.mode != "chat":
            return self._completion(request)
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
        if p.logprobs is not None:
            body["logprobs"], body["top_logprobs"] = True, p.logprobs
        return HttpCall(f"{self.base_url}/chat/completions", body)

    def _completion(self, request: Request) -> HttpCall:
        """Complete and score modes: the legacy ``/completions`` on the raw document. Score asks
        for the prompt echoed with its probabilities and one token (not 0: llama-cpp-python's
        server reads 0 as "until the context is full"); the token generated is not read."""
        p = request.params
        body: dict[str, Any] = {"model": request.model, "prompt": document(request.messages), "stream": True}
        if self.config.options.get("include_usage", True):
            body["stream_options"] = {"include_usage": True}
        if p.mode == "score":
            body.update(echo=True, logprobs=max(p.logprobs or 0, 1), max_tokens=1, temperature=0.0)
            return HttpCall(f"{self.base_url}/completions", body)
        for name, value in (("temperature", p.temperature), ("top_p", p.top_p), ("seed", p.seed),
                            ("max_tokens", p.max_tokens), ("logprobs", p.logprobs)):
            if value is not None:
                body[name] = value
        if p.stop:
            body["stop"] = list(p.stop)
        return HttpCall(f"{self.base_url}/completions", body)

    async def parse(self, response: httpx.Response, request: Request) -> AsyncIterator[Event]:
        state = _State(self.name, self.where, Rows(request.params.logprobs), request.params.mode == "chat")
        if request.params.mode == "score":
            async with aclosing(self._frames(response, state)) as frames:
                async for event in self._score(frames, state, request):
                    yield event
            return
        async for frame in self._frames(response, state):
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

    async def _frames(self, response: httpx.Response, state: _State) -> AsyncIterator[dict[str, Any]]:
        """The JSON frames up to ``[DONE]`` — or the one completion of a server that ignored "stream"."""
        if is_json(response):
            yield await one_json_answer(
                response, self.name, "a chat completion" if state.chat else "a completion",
                lambda frame: isinstance(frame.get("choices"), list) or _error_in(frame))
            state.done = True
            return
        async for sse in sse_events(response, self.name):
            data = sse.data.strip()
            state.frames += 1
            if data == "[DONE]":
                state.done = True
                return
            if data:
                frame = json_object(data, self.name)
                if sse.event == "error":
                    raise mid_stream_error(self.name, frame, self.where)
                yield frame

    async def _score(self, frames: AsyncIterator[dict[str, Any]], state: _State,
                     request: Request) -> AsyncIterator[Event]:
        """Score mode: the echoed prompt's tokens and their probabilities (its first token has none:
        nothing came before it); reading stops once the prompt is covered (the token generated after
        it is not the text scored). A server that answers instead of echoing does not score."""
        prompt, k = document(request.messages), request.params.logprobs or 0
        echoed, rows, count, at = "", [], 0, 0
        async for frame in frames:
            if error := _error_in(frame):
                raise mid_stream_error(self.name, error, self.where)
            if state.answered is None and isinstance(frame.get("model"), str) and frame["model"]:
                state.answered = frame["model"]
                yield Answered(state.answered)
            for choice in frame.get("choices") or ():
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                if isinstance(choice.get("text"), str):
                    echoed = (echoed + choice["text"])[:len(prompt) + 1]
                for entry in legacy_entries(choice.get("logprobs"), k):
                    at = entry.offset if entry.offset is not None else at
                    if at >= len(prompt):
                        break
                    count, at = count + 1, at + len(entry.text)
                    rows += [entry.row] if entry.row is not None else []
            if len(echoed) >= len(prompt) or not prompt.startswith(echoed):
                break
        if not echoed.startswith(prompt):
            raise scoring_refused(request.model, self.where, "it answered instead of echoing the prompt")
        if not rows:
            raise scoring_refused(request.model, self.where, "it echoed the prompt without its probabilities")
        yield TextDelta(prompt)
        for event in state.rows.events(tuple(rows)):
            yield event
        yield Usage(input_tokens=count, output_tokens=0)
        yield Finish("stop")

    def _probe_call(self, request: Request) -> HttpCall:
        """The request unstreamed, for one token: enough for the server to check the prompt."""
        call = self.build(request)
        body = {k: v for k, v in call.body.items() if k not in ("stream", "stream_options")}
        body["max_tokens" if request.params.mode != "chat" else self.max_tokens_field(request.model)] = 1
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
    rows: Rows  # the probability events (none unless asked for)
    chat: bool = True  # chat mode (else the legacy /completions)
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
        if not isinstance(choice, dict) or choice.get("index", 0) != 0:
            continue
        if "delta" in choice or "message" in choice:
            delta = choice.get("delta") or choice.get("message") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")  # DeepSeek, OpenRouter
            if isinstance(reasoning, str) and reasoning:
                yield ReasoningDelta(reasoning)
            text = delta.get("content")
            yield from _content_events(text)
        else:  # a /completions choice: its text
            text = choice.get("text")
            if isinstance(text, str) and text:
                yield TextDelta(text)
        if state.rows.k is not None:
            yield from state.rows.events(choice_rows(choice, text, state.rows.k))
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
