"""The wire shapes of issue 13 for the scripted server: the legacy ``/v1/completions`` stream, Ollama's
``/api/generate`` lines, and each provider's token-probability frames (docs/protocols.md, "Token
probabilities").

``CompletionsWire`` and ``GenerateWire`` render a plain ``Reply`` on those paths. The functions below
render a whole answer with probabilities as exact bytes for ``Reply(raw=...)``, from tokens given as
``(text, logprob, [(alternative, logprob), ...])`` — a test says what the server sends, byte for
byte, and checks what the backend made of it. Rendering only: ``servers.py`` sends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from playground.testing.frames import OllamaWire, OpenAIWire, Reply, sse

Tok = tuple[str, Any, Sequence[tuple[str, Any]]]  # text, logprob (any value: hostile ones too), alternatives


class CompletionsWire(OpenAIWire):
    """``POST /v1/completions``: ``text_completion`` frames whose choice carries ``text``."""

    def _chunk(self, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        text = delta.get("content") or delta.get("reasoning_content") or ""
        return {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]}

    def head(self, reply: Reply, model: str) -> list[bytes]:
        return []


class GenerateWire(OllamaWire):
    """``POST /api/generate``: each line's text is ``response``, not ``message``."""

    def delta(self, text: str, reasoning: bool, index: int, reply: Reply, model: str) -> bytes:
        return self._line({"model": model, "created_at": "2026-11-26T09:00:00Z", "response": text, "done": False})

    def tail(self, reply: Reply, model: str, request: Any) -> list[bytes]:
        out = []
        for line in super().tail(reply, model, request):
            final = json.loads(line)
            final.pop("message", None)
            out.append(self._line({**final, "response": ""}))
        return out


def _groups(tokens: Sequence[Tok], per_chunk: int) -> list[Sequence[Tok]]:
    return [tokens[i:i + per_chunk] for i in range(0, len(tokens), per_chunk)]


def _items(group: Sequence[Tok], ids: bool) -> list[dict[str, Any]]:
    """OpenAI chat's (and Ollama's) ``[{token, logprob, bytes, top_logprobs}]``; ``ids``: llama.cpp's ``id``."""
    out = []
    for n, (text, lp, top) in enumerate(group):
        item: dict[str, Any] = {"token": text, "logprob": lp, "bytes": list(text.encode()),
                                "top_logprobs": [{"token": t, "logprob": v, "bytes": list(t.encode())} for t, v in top]}
        if ids:
            item = {"id": 1000 + n, **item}
            for m, alt in enumerate(item["top_logprobs"]):
                alt["id"] = 2000 + m
        out.append(item)
    return out


def _end(model: str, finish: str, obj: str = "chat.completion.chunk") -> list[bytes]:
    last = {"id": "x-1", "object": obj, "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
    if obj == "text_completion":
        last["choices"] = [{"index": 0, "text": "", "logprobs": None, "finish_reason": finish}]
    return [sse(last), b"data: [DONE]\n\n"]


def openai_chat(tokens: Sequence[Tok], model: str = "scripted", per_chunk: int = 1,
                ids: bool = False) -> list[bytes]:
    """A chat stream, ``per_chunk`` tokens to a chunk (their texts joined as the delta)."""
    frames = [sse({"id": "x-1", "object": "chat.completion.chunk", "model": model,
                   "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                "finish_reason": None}]})]
    for group in _groups(tokens, per_chunk):
        frames.append(sse({"id": "x-1", "object": "chat.completion.chunk", "model": model, "choices": [{
            "index": 0, "delta": {"content": "".join(t[0] for t in group)},
            "logprobs": {"content": _items(group, ids), "refusal": None}, "finish_reason": None}]}))
    return frames + _end(model, "stop")


def together_chat(tokens: Sequence[Tok], model: str = "scripted") -> list[bytes]:
    """Together's chat stream: one token a chunk, ``logprobs`` a number, ``top_logprobs`` an object."""
    frames = [sse({"id": "x-1", "object": "chat.completion.chunk", "model": model, "choices": [{
        "index": 0, "text": text, "delta": {"token_id": 7, "role": "assistant", "content": text},
        "logprobs": lp, "top_logprobs": dict(top), "finish_reason": None}]}) for text, lp, top in tokens]
    return frames + _end(model, "stop")


def completions(tokens: Sequence[Tok], model: str = "scripted", per_chunk: int = 1, echo: str = "",
                first_offset: int = 0) -> list[bytes]:
    """A ``/v1/completions`` stream in the legacy shape. ``echo``: the prompt's text, sent first with
    ``tokens`` as its tokens (the first one's logprob null), as vLLM echoes; then no more."""
    frames, offset = [], first_offset
    for group in _groups(tokens, per_chunk if not echo else len(tokens)):
        lists: dict[str, list[Any]] = {"tokens": [], "token_logprobs": [], "top_logprobs": [], "text_offset": []}
        for text, lp, top in group:
            lists["tokens"].append(text)
            lists["token_logprobs"].append(lp)
            lists["top_logprobs"].append(dict(top) if lp is not None else None)
            lists["text_offset"].append(offset)
            offset += len(text)
        text = echo if echo else "".join(t[0] for t in group)
        frames.append(sse({"id": "cmpl-1", "object": "text_completion", "model": model, "choices": [
            {"index": 0, "text": text, "logprobs": lists, "finish_reason": None}]}))
    return frames + _end(model, "length" if echo else "stop", "text_completion")


def ollama(tokens: Sequence[Tok], model: str = "scripted", generate: bool = False) -> list[bytes]:
    """Ollama's lines: each token's text (``message.content``, or ``response`` for generate) with its
    ``logprobs`` list, then the done line."""
    def line(obj: Any) -> bytes:
        return (json.dumps(obj, ensure_ascii=False) + "\n").encode()

    def text_of(text: str) -> dict[str, Any]:
        return {"response": text} if generate else {"message": {"role": "assistant", "content": text}}

    lines = [line({"model": model, **text_of(t), "done": False, "logprobs": _items([(t, lp, top)], False)})
             for t, lp, top in tokens]
    return lines + [line({"model": model, **text_of(""), "done": True, "done_reason": "stop",
                          "prompt_eval_count": 4, "eval_count": len(tokens)})]


def gemini(tokens: Sequence[Tok], model: str = "scripted", per_chunk: int = 1) -> list[bytes]:
    """Gemini frames: the chunk's text, and its ``logprobsResult`` (chosen and top candidates)."""
    frames = []
    groups = _groups(tokens, per_chunk)
    for n, group in enumerate(groups):
        result = {"chosenCandidates": [{"token": t, "tokenId": 5, "logProbability": lp} for t, lp, _ in group],
                  "topCandidates": [{"candidates": [{"token": a, "tokenId": 6, "logProbability": v} for a, v in top]}
                                    for _, _, top in group]}
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": [{"text": "".join(t[0] for t in group)}]},
                                     "index": 0, "logprobsResult": result}
        if n == len(groups) - 1:
            candidate["finishReason"] = "STOP"
        frames.append(sse({"candidates": [candidate], "modelVersion": model}))
    return frames
