"""A hostile provider: replies that quote a text (an API key, say) in every place a wire format
allows text, for ``ScriptedServer.by_model``.

``hostile_replies(protocol, quoted, clipped)`` gives, per scenario name, a ``Reply`` that puts
``quoted`` into: error bodies before any stream (the protocol's JSON shape, FastAPI's ``detail``,
an unknown JSON shape, plain text, an HTML page and its title), rate-limit headers, the
content-type of a 200 that is not a stream, a mid-stream error frame (and the protocol's other
error shapes: OpenAI's ``event: error`` and vLLM's error object, a whole JSON error answer,
Gemini's error array and block reason), a malformed frame that gets quoted, the streamed answer
and reasoning (the key split across chunks), and server figures. ``clipped`` — one bare value,
a key — is placed where the client clips what it quotes (80 characters of a malformed frame, 300
of an error body), so that a clip taken before redaction would leave part of it behind.
"""

from __future__ import annotations

import json

from playground.testing.frames import Reply, sse

_PAD_FRAME = 60  # a malformed frame is quoted up to 80 characters: the clip falls inside the key
_PAD_BODY = 280  # an error body is quoted up to 300 characters


def _split(value: str, parts: int = 3) -> list[str]:
    step = max(1, len(value) // parts)
    return [value[i:i + step] for i in range(0, len(value), step)]


def hostile_replies(protocol: str, quoted: str, clipped: str) -> dict[str, Reply]:
    """Scenario name -> a reply quoting ``quoted`` (ASCII: it goes into headers too)."""
    pad = "x" * _PAD_BODY
    replies = {
        "status-json": Reply(status=400, message=quoted),
        "status-detail": Reply(status=422, body={"detail": quoted}),
        "status-shape": Reply(status=400, body={"oops": pad[:_PAD_BODY - 20] + clipped}),
        "status-text": Reply(status=502, body=f"upstream failed: {quoted}"),
        "status-text-clip": Reply(status=400, body=f"{pad[:_PAD_BODY - 10]} {clipped}"),
        "status-html": Reply(status=503, headers={"content-type": "text/html"},
                             body=f"<html><head><title>503 {quoted}</title></head>"
                                  f"<body><h1>{quoted}</h1></body></html>"),
        "rate-headers": Reply(status=429, message="slow down",
                              headers={"x-ratelimit-remaining-requests": quoted,
                                       "x-ratelimit-reset-requests": quoted}),
        "midstream": Reply(error_after=1, message=quoted),
        "answer": Reply(chunks=["The key: ", *_split(clipped), " — and again ", clipped],
                        reasoning=["thinking about ", *_split(clipped)]),
    }
    if protocol != "ollama":  # NDJSON has no content-type check: its malformed line is below
        replies["content-type"] = Reply(raw=[b"not a stream\n\n"],
                                        media_type=f"text/plain; note={clipped}")
    frame_pad = "y" * (_PAD_FRAME - 15)
    if protocol == "openai":
        replies.update({
            "malformed": Reply(raw=[f'data: {{"choices": "{frame_pad}{clipped}\n\n'.encode()]),
            "event-error": Reply(raw=[sse({"error": {"message": quoted, "type": "server_error"}}, "error")]),
            "vllm-error": Reply(raw=[sse({"object": "error", "message": quoted, "code": 400})]),
            "json-error": Reply(raw=[json.dumps({"error": {"message": quoted}}).encode()],
                                media_type="application/json"),
            "timings": Reply(timings={"note": quoted, clipped: 1}),
        })
    elif protocol == "anthropic":
        replies.update({
            "malformed": Reply(raw=[f"event: content_block_delta\ndata: {{bad {frame_pad}{clipped}\n\n".encode()]),
            "json-error": Reply(raw=[json.dumps({"type": "error", "error": {"type": "api_error",
                                                                             "message": quoted}}).encode()],
                                media_type="application/json"),
        })
    elif protocol == "gemini":
        replies.update({
            "malformed": Reply(raw=[f'data: {{"candidates": "{frame_pad}{clipped}\n\n'.encode()]),
            "json-array": Reply(raw=[json.dumps([{"error": {"code": 500, "message": quoted,
                                                            "status": "INTERNAL"}}]).encode()],
                                media_type="application/json"),
            "blocked": Reply(blocked=quoted),
        })
    elif protocol == "ollama":
        replies["malformed"] = Reply(raw=[f'{{"model": bad {frame_pad}{clipped}\n'.encode()])
    return replies
