"""``test:`` — an in-process model that streams a scripted answer: for trying the page without any
model, for the engine's own tests, and for measuring the engine's overhead.

The model part is a query string: ``test:chunks=50&delay_ms=5&fail_at=10&text=hello``

| key        | meaning                                                        | default        |
| chunks     | how many text deltas                                           | 20             |
| delay_ms   | pause before each delta                                        | 0              |
| first_ms   | pause before the first delta (a time to first token)           | 0              |
| text       | the text of every delta (``{i}`` is replaced by its index)     | ``tok{i} ``    |
| fail_at    | raise a ServerError just before this delta                     | none           |
| echo       | 1: stream the last user message back word by word instead      | 0              |

Token counts are exact for it (one token per delta) and reported as the tokenizer's.
It makes no network call and loads nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

from backends.base import Backend, Event, Finish, Request, Started, TextDelta, Usage
from backends.errors import ConfigError, ServerError

_KEYS = {"chunks", "delay_ms", "first_ms", "text", "fail_at", "echo"}


def parse_script(model: str) -> dict[str, str]:
    if model in ("", "default"):
        return {}
    pairs = dict(parse_qsl(model, keep_blank_values=True))
    unknown = set(pairs) - _KEYS
    if unknown or not pairs:
        raise ConfigError(f"test:{model}: use keys {', '.join(sorted(_KEYS))}, e.g. test:chunks=20&delay_ms=5")
    return pairs


class ScriptedBackend(Backend):
    engine_name = "scripted"

    def endpoint(self, model: str) -> str | None:
        return None

    def check(self, model: str) -> str | None:
        try:
            parse_script(model)
        except ConfigError as exc:
            return str(exc)
        return None

    async def stream(self, request: Request) -> AsyncIterator[Event]:
        script = parse_script(request.model)
        delay = float(script.get("delay_ms", 0)) / 1000
        first = float(script.get("first_ms", 0)) / 1000
        fail_at = int(script["fail_at"]) if "fail_at" in script else None
        if script.get("echo") == "1":
            last_user = next((m.content for m in reversed(request.messages) if m.role == "user"), "")
            words = last_user.split(" ")
            deltas = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        else:
            pattern = script.get("text", "tok{i} ")
            deltas = [pattern.replace("{i}", str(i)) for i in range(int(script.get("chunks", 20)))]
        limit = request.params.max_tokens
        cut = limit is not None and limit < len(deltas)
        if cut:
            deltas = deltas[:limit]
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        yield Started()
        if first:
            await asyncio.sleep(first)
        for i, delta in enumerate(deltas):
            if fail_at is not None and i == fail_at:
                raise ServerError(f"scripted failure at delta {i}", status=500)
            if delay:
                await asyncio.sleep(delay)
            yield TextDelta(delta)
        yield Usage(prompt_tokens, len(deltas), source="tokenizer")
        yield Finish("length" if cut else "stop")
