"""``test:`` — an in-process model that streams a scripted answer: for trying the page without any
model, for the engine's own tests, and for measuring the engine's overhead.

The model part is a query string: ``test:chunks=50&delay_ms=5&fail_at=10&text=hello``

| key        | meaning                                                        | default     | at most    |
| chunks     | how many text deltas                                           | 20          | 100,000    |
| delay_ms   | pause before each delta                                        | 0           | 10,000     |
| first_ms   | pause before the first delta (a time to first token)           | 0           | 60,000     |
| text       | the text of every delta (``{i}`` is replaced by its index)     | ``tok{i} `` | 1,000 chars|
| fail_at    | raise a ServerError just before this delta                     | none        |            |
| echo       | 1: stream the last user message back word by word instead      | 0           |            |
| probs      | 0: offer no probabilities (a server that ignores the request)   | 1           |            |

With ``Params.logprobs = K`` each delta also comes with its probabilities (``TokenLogprobs``, kind
``raw``): the delta is the chosen token, its log-probability cycles through a fixed pattern (so a
view shades every band), and its K alternatives are the chosen text first, then the text with
``·1``, ``·2``, … appended — scripted text, so a hostile ``text=`` reaches the alternatives too.

and in all at most 2,000,000 characters of text and 10 minutes of pauses: a script is data from
whoever typed the id, so what it may cost the server is bounded, and a script past a bound is
refused with one line naming it. Every delta counts as one token (exact: reported as the
tokenizer's), so ``max_tokens`` stops the stream after that many deltas with finish ``length``.
Deltas are made one at a time, never all at once. It makes no network call and loads nothing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl

from backends.base import (
    Backend,
    EngineInfo,
    Event,
    Finish,
    Request,
    Started,
    TextDelta,
    TokenLogprobs,
    TokenProb,
    Usage,
)
from backends.errors import ConfigError, ServerError

MAX_CHUNKS = 100_000  # bench/engine.py streams 100,000 deltas through one lane
MAX_DELAY_MS = 10_000
MAX_FIRST_MS = 60_000
MAX_TEXT_CHARS = 1_000
MAX_TOTAL_CHARS = 2_000_000
MAX_TOTAL_MS = 600_000
_KEYS = ("chunks", "delay_ms", "first_ms", "text", "fail_at", "echo", "probs")
# the chosen token's log-probability at delta i is _LOGPROBS[i % len]: ~99 %, 80 %, 60 %, 40 %, 20 %, 5 %
_LOGPROBS = (-0.01, -0.2231, -0.5108, -0.9163, -1.6094, -2.9957)


@dataclass(frozen=True)
class Script:
    chunks: int = 20
    delay_ms: float = 0.0
    first_ms: float = 0.0
    text: str = "tok{i} "
    fail_at: int | None = None
    echo: bool = False
    probs: bool = True

    def deltas(self, messages: tuple) -> Iterator[str]:
        if self.echo:
            last_user = next((m.content for m in reversed(messages) if m.role == "user"), "")
            words = last_user.split(" ")
            for i, word in enumerate(words):
                yield word + (" " if i < len(words) - 1 else "")
            return
        for i in range(self.chunks):
            yield self.text.replace("{i}", str(i))


def _clip(text: str) -> str:
    """Typed text as an error quotes it: one line, not too long (a script is whatever was typed)."""
    flat = " ".join(text.split())
    return f"{flat[:60]}…" if len(flat) > 60 else flat


def _shown(model: str) -> str:
    return f"test:{_clip(model)}"


def _number(model: str, key: str, value: str, kind: type, most: float) -> float:
    try:
        number = kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{_shown(model)}: {key} must be {what} from 0 to {most:,}, "
                          f"not {_clip(value)!r}") from None
    if not 0 <= number <= most:  # also refuses nan (every comparison with it is false)
        raise ConfigError(f"{_shown(model)}: {key} must be from 0 to {most:,}, not {_clip(value)}")
    return number


def parse_script(model: str) -> Script:
    """The script of a ``test:`` id, or a one-line ConfigError naming the key or bound it breaks."""
    if model in ("", "default"):
        return Script()
    pairs = dict(parse_qsl(model, keep_blank_values=True))
    unknown = set(pairs) - set(_KEYS)
    if unknown or not pairs:
        raise ConfigError(f"{_shown(model)}: use keys {', '.join(sorted(_KEYS))}, e.g. test:chunks=20&delay_ms=5")
    chunks = int(_number(model, "chunks", pairs.get("chunks", "20"), int, MAX_CHUNKS))
    delay = _number(model, "delay_ms", pairs.get("delay_ms", "0"), float, MAX_DELAY_MS)
    first = _number(model, "first_ms", pairs.get("first_ms", "0"), float, MAX_FIRST_MS)
    fail_at = pairs.get("fail_at")
    text = pairs.get("text", "tok{i} ")
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(f"{_shown(model)}: text must be at most {MAX_TEXT_CHARS:,} characters, not {len(text):,}")
    echo = pairs.get("echo", "0")
    if echo not in ("0", "1"):
        raise ConfigError(f"{_shown(model)}: echo must be 0 or 1, not {_clip(echo)!r}")
    probs = pairs.get("probs", "1")
    if probs not in ("0", "1"):
        raise ConfigError(f"{_shown(model)}: probs must be 0 or 1, not {_clip(probs)!r}")
    widest = len(text.replace("{i}", str(max(chunks - 1, 0))))
    if chunks * widest > MAX_TOTAL_CHARS:
        raise ConfigError(f"{_shown(model)}: at most {MAX_TOTAL_CHARS:,} characters in all — "
                          f"{chunks:,} chunks of {widest:,} is {chunks * widest:,}; use fewer or shorter chunks")
    if first + chunks * delay > MAX_TOTAL_MS:
        raise ConfigError(f"{_shown(model)}: at most {MAX_TOTAL_MS:,} ms of pauses in all — first_ms + "
                          f"chunks × delay_ms is {first + chunks * delay:,.0f}; use fewer chunks or shorter delays")
    return Script(chunks=chunks, delay_ms=delay, first_ms=first, text=text, echo=echo == "1", probs=probs == "1",
                  fail_at=None if fail_at is None else int(_number(model, "fail_at", fail_at, int, MAX_CHUNKS)))


class ScriptedBackend(Backend):
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
        limit = request.params.max_tokens
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        k = request.params.logprobs if script.probs else None
        if k is not None:
            yield EngineInfo(logprob_kind="raw")
        yield Started()
        if script.first_ms:
            await asyncio.sleep(script.first_ms / 1000)
        sent, cut = 0, False
        for delta in script.deltas(request.messages):
            if limit is not None and sent >= limit:  # one more was due: max_tokens cut it
                cut = True
                break
            if script.fail_at is not None and sent == script.fail_at:
                raise ServerError(f"scripted failure at delta {sent}", status=500)
            if script.delay_ms:
                await asyncio.sleep(script.delay_ms / 1000)
            yield TextDelta(delta)
            if k is not None:
                yield TokenLogprobs((probabilities(delta, sent, k),))
            sent += 1
        yield Usage(prompt_tokens, sent, source="tokenizer")
        yield Finish("length" if cut else "stop")


def probabilities(text: str, i: int, k: int) -> TokenProb:
    """Delta ``i``'s scripted probabilities: the chosen text at ``_LOGPROBS[i % 6]``; its ``k``
    alternatives, best first, are the chosen text and ``text·1``, ``text·2``, … holding half, a
    quarter, … of the rest (so they add up to less than 1)."""
    chosen = _LOGPROBS[i % len(_LOGPROBS)]
    rest = 1 - math.exp(chosen)
    others = [(f"{text}·{j}", round(math.log(rest / 2 ** j), 4)) for j in range(1, k)]
    top = sorted([(text, chosen), *others], key=lambda pair: -pair[1])[:k]
    return TokenProb(text, chosen, tuple(top))
