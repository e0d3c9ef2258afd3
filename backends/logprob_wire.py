"""Token probabilities as the hosted wire formats send them, read into ``TokenProb`` rows; and the
memory of which model refused to send them.

The shapes (docs/protocols.md, "Token probabilities"):

- OpenAI chat: ``choices[0].logprobs.content`` — a list of ``{token, logprob, bytes, top_logprobs:
  [{token, logprob}]}``, several per chunk possible; llama.cpp's server adds ``id``. Ollama's
  per-line ``logprobs`` list has the same items.
- the legacy completions shape (``/v1/completions``, Together's unstreamed chat): ``{tokens,
  token_logprobs, top_logprobs: [{text: logprob}], text_offset}``, parallel lists; the first token
  of an echoed prompt has ``null`` (nothing came before it).
- Together's streamed chat: ``logprobs`` is a number (the chunk's one token), ``top_logprobs`` a
  ``{token: logprob}`` object beside it.
- Gemini: ``logprobsResult.chosenCandidates[i]`` and ``topCandidates[i].candidates``, each
  ``{token, logProbability}``.

Everything here is outside text: a wrong type is skipped, not trusted; a frame gives at most
``MAX_ROWS`` tokens, a token at most K alternatives (K ≤ 20: sorted best first, cut), a text at most
``MAX_TEXT`` characters. OpenAI's ``-9999`` ("outside the top 20") is not a probability: such a
token gets no row (absent, never a made-up number); such an alternative is left out. So are
non-finite and positive numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from backends import errors
from backends.base import MAX_TOP_LOGPROBS, EngineInfo, Event, Message, Request, TokenLogprobs, TokenProb

MAX_TEXT = 200  # characters of one token's text (a token is a few bytes; more is a server's noise)
MAX_ROWS = 4096  # tokens read from one frame
_MAX_ALTERNATIVES = 4 * MAX_TOP_LOGPROBS  # alternatives read per token before sorting (21 expected)
UNKNOWN = -9999.0  # OpenAI: "the token is not among the top 20" — no number at all


def logprob(value: Any) -> float | None:
    """A natural-log probability, or None when ``value`` is not one (a string, a bool, NaN, -9999,
    a positive number beyond float rounding)."""
    if type(value) not in (int, float):
        return None
    number = float(value)
    if not math.isfinite(number) or number <= UNKNOWN or number > 1e-4:
        return None
    return min(number, 0.0)


def token_text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def top_pairs(pairs: Iterable[tuple[Any, Any]], k: int) -> tuple[tuple[str, float], ...]:
    """The valid (text, logprob) pairs, best first, at most ``k``."""
    found = []
    for text, value in islice(pairs, _MAX_ALTERNATIVES):
        text, value = token_text(text), logprob(value)
        if text is not None and value is not None:
            found.append((text, value))
    found.sort(key=lambda pair: -pair[1])  # stable: equal ones keep the server's order
    return tuple(found[:max(k, 0)])


def _items(value: Any) -> list[Any]:
    return list(islice(value, MAX_ROWS)) if isinstance(value, list) else []


def _alternatives(items: Any, k: int, text_key: str = "token", lp_key: str = "logprob") -> tuple[tuple[str, float], ...]:
    """``[{token, logprob}, ...]`` (OpenAI, Ollama) or Gemini's ``{token, logProbability}``."""
    pairs = ((i.get(text_key), i.get(lp_key)) for i in islice(items, _MAX_ALTERNATIVES)
             if isinstance(i, dict)) if isinstance(items, list) else ()
    return top_pairs(pairs, k)


def _mapping(value: Any, k: int) -> tuple[tuple[str, float], ...]:
    """A ``{text: logprob}`` object (legacy completions, Together)."""
    return top_pairs(islice(value.items(), _MAX_ALTERNATIVES), k) if isinstance(value, dict) else ()


def content_rows(items: Any, k: int) -> tuple[TokenProb, ...]:
    """OpenAI chat's ``logprobs.content`` list, or Ollama's ``logprobs`` list."""
    rows = []
    for item in _items(items):
        if not isinstance(item, dict):
            continue
        text, value = token_text(item.get("token")), logprob(item.get("logprob"))
        if text is not None and value is not None:
            rows.append(TokenProb(text, value, _alternatives(item.get("top_logprobs"), k)))
    return tuple(rows)


@dataclass(frozen=True, slots=True)
class Echoed:
    """One token of the legacy shape: its text, its character offset (when the server gave a
    whole number), and its row (None: no log-probability, as an echoed prompt's first token)."""

    text: str
    offset: int | None
    row: TokenProb | None


def legacy_entries(logprobs: Any, k: int) -> list[Echoed]:
    """The legacy shape's tokens in order (``tokens``, ``token_logprobs``, ``top_logprobs``,
    ``text_offset``); a token whose text is not a string ends the list (the lists no longer align)."""
    if not isinstance(logprobs, dict):
        return []
    tokens, values = _items(logprobs.get("tokens")), _items(logprobs.get("token_logprobs"))
    tops, offsets = _items(logprobs.get("top_logprobs")), _items(logprobs.get("text_offset"))
    out = []
    for i, raw in enumerate(tokens):
        text = token_text(raw)
        if text is None:
            break
        value = logprob(values[i]) if i < len(values) else None
        offset = offsets[i] if i < len(offsets) and type(offsets[i]) is int and offsets[i] >= 0 else None
        row = TokenProb(text, value, _mapping(tops[i] if i < len(tops) else None, k)) if value is not None else None
        out.append(Echoed(text, offset, row))
    return out


def choice_rows(choice: dict[str, Any], text: Any, k: int) -> tuple[TokenProb, ...]:
    """The rows of one OpenAI-compatible choice, whichever dialect: chat's ``content`` list, the
    legacy lists, or Together's number (the token is the chunk's ``text``)."""
    found = choice.get("logprobs")
    if isinstance(found, dict):
        if "content" in found:
            return content_rows(found.get("content"), k)
        return tuple(e.row for e in legacy_entries(found, k) if e.row is not None)
    value, text = logprob(found), token_text(text)
    if value is None or text is None:
        return ()
    return (TokenProb(text, value, _mapping(choice.get("top_logprobs"), k)),)


def gemini_rows(result: Any, k: int) -> tuple[TokenProb, ...]:
    """A Gemini candidate's ``logprobsResult``: chosen tokens, and the alternatives at each step."""
    if not isinstance(result, dict):
        return ()
    tops = _items(result.get("topCandidates"))
    rows = []
    for i, chosen in enumerate(_items(result.get("chosenCandidates"))):
        if not isinstance(chosen, dict):
            continue
        text, value = token_text(chosen.get("token")), logprob(chosen.get("logProbability"))
        if text is None or value is None:
            continue
        step = tops[i] if i < len(tops) and isinstance(tops[i], dict) else {}
        rows.append(TokenProb(text, value, _alternatives(step.get("candidates"), k, lp_key="logProbability")))
    return tuple(rows)


class Rows:
    """The probability events of one response: ``EngineInfo(logprob_kind="provider")`` before the
    first rows (a hosted API does not say whether its figures are before or after the sampler),
    then one ``TokenLogprobs`` per batch. Nothing when the request asked for none."""

    def __init__(self, k: int | None) -> None:
        self.k = k
        self.count = 0

    def events(self, rows: tuple[TokenProb, ...]) -> Iterator[Event]:
        if not rows:
            return
        if not self.count:
            yield EngineInfo(logprob_kind="provider")
        self.count += len(rows)
        yield TokenLogprobs(rows)


# ---- a document, and refusals ---------------------------------------------------------------------


def document(messages: Iterable[Message]) -> str:
    """Complete and score modes: the prompt is one document — the messages' texts joined, no
    system prompt (the core sends the document as one message)."""
    return "".join(m.content for m in messages if m.role != "system")


_REFUSAL = re.compile(r"logprob|unsupported parameter|not enabled", re.IGNORECASE)
_REFUSED: set[tuple[str, str]] = set()  # (endpoint, model): refused probabilities in this process


def asks_probabilities(request: Request) -> bool:
    """Whether a request asks for probabilities it can do without (score mode cannot)."""
    return request.params.logprobs is not None and request.params.mode != "score"


def refuses_probabilities(exc: errors.BackendError) -> bool:
    """A 400 that is about the probabilities asked for: OpenAI's reasoning models ("Unsupported
    parameter: 'logprobs'"), Groq, DeepSeek's reasoner, Gemini ("Logprobs is not enabled")."""
    return (isinstance(exc, errors.BadRequestError) and not isinstance(exc, errors.ContextOverflowError)
            and getattr(exc, "status", None) in (400, 422) and bool(_REFUSAL.search(exc.message)))


def remember_refusal(endpoint: str, model: str) -> None:
    _REFUSED.add((endpoint, model))


def refused_before(endpoint: str, model: str) -> bool:
    return (endpoint, model) in _REFUSED


def refuses_scoring(exc: errors.BackendError) -> bool:
    """A 4xx that is not an overflow, in score mode: the server will not echo the prompt's figures."""
    return isinstance(exc, errors.BadRequestError) and not isinstance(exc, errors.ContextOverflowError)


def without_probabilities(request: Request) -> Request:
    return replace(request, params=replace(request.params, logprobs=None))


def scoring_refused(model: str, where: str, why: str) -> errors.BadRequestError:
    """Score mode on a server that does not give the prompt's probabilities: one line, this lane."""
    return errors.BadRequestError(
        f"scoring not offered by {model} at {where}: {why} — score with a gguf: or hf: model, or a "
        "server that returns prompt probabilities with echo (vLLM)")
