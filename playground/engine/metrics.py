"""The figures of a lane, computed in one place from its stamped events (docs/architecture.md#timing).

| ttft_ms       first non-empty text delta − t0
| total_ms      end of stream − the first attempt's request sent: every attempt and every wait
|               between them (for a lane that was not retried: end − t0)
| retry_ms      the first attempt's request sent − t0: the failed attempts and the back-off
|               between them (each listed in the record's ``retries``); 0 when not retried
| output_tokens provider usage, else the local tokenizer's count, else an estimate (named in
|               ``estimated``) — never a guess presented as a count
| tokens_per_s  (output_tokens − 1) / (last delta − first delta): the decode rate
| queue_ms      waits before the first request was sent (throttle slot, CPU turn)
| load_ms       loading a local model for this request, never inside TTFT
| cost_usd      the price table on the provider's usage; 0 for local; null when unknown
| logprob_*     with probabilities (``Params.logprobs``): over the tokens that have one —
|               logprob_sum (total log-likelihood, nats), logprob_mean (per token), perplexity
|               (exp of −mean), logprob_tokens (how many); bits_per_char and bits_per_byte
|               (−sum / ln 2 over the characters / UTF-8 bytes of those tokens' text). Per-token
|               figures depend on the tokenizer; the per-character and per-byte ones compare
|               across models with different tokenizers.

t0 is just before the request that answered is sent (a retried lane's last attempt), so TTFT,
the timeline and the decode rate are the answering attempt's alone; what the user waited in all
is queue_ms + load_ms + total_ms, with retry_ms inside total_ms.

This module computes; it does not stamp (the engine does) and it does not store.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from backends.pricing import FREE_PROVIDERS, cost_usd

if TYPE_CHECKING:
    from playground.engine.lane import LaneState

CHARS_PER_TOKEN = 4.0  # the usual rule of thumb for English text; only ever used as an estimate


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def estimate_tokens(chars: int) -> int:
    return max(1, round(chars / CHARS_PER_TOKEN)) if chars else 0


def token_counts(lane: LaneState) -> tuple[int | None, int | None, list[str]]:
    """Input and output tokens, and which of them are estimates."""
    estimated: list[str] = []
    out_tokens = lane.output_tokens
    if out_tokens is None and lane.chunks:
        out_tokens = estimate_tokens(sum(len(c) for c in lane.chunks))
        estimated.append("output_tokens")
    elif out_tokens is None:
        out_tokens = 0 if lane.done else None
    in_tokens = lane.input_tokens
    if in_tokens is None and lane.prompt_chars:
        in_tokens = estimate_tokens(lane.prompt_chars)
        estimated.append("input_tokens")
    return in_tokens, out_tokens, estimated


def compute(lane: LaneState) -> dict[str, Any]:
    t0 = lane.t0
    in_tokens, out_tokens, estimated = token_counts(lane)
    ttft = lane.stamps[0] - t0 if (t0 is not None and lane.stamps) else None
    end = lane.t_end if lane.t_end is not None else (lane.stamps[-1] if lane.stamps else None)
    first = lane.t_first if lane.t_first is not None else t0
    total = end - first if (first is not None and end is not None) else None
    retry = t0 - first if (t0 is not None and first is not None) else 0.0
    rate = None
    if out_tokens and out_tokens > 1 and len(lane.stamps) > 1:
        span = lane.stamps[-1] - lane.stamps[0]
        if span > 0:
            rate = round((out_tokens - 1) / span, 2)
            if "output_tokens" in estimated:
                estimated.append("tokens_per_s")
    cost = 0.0 if lane.provider in FREE_PROVIDERS else lane.cost_usd  # known at once for local
    if cost is not None and estimated and lane.provider not in FREE_PROVIDERS:
        estimated.append("cost_usd")
    contention: dict[str, Any] = {"threads": lane.threads, "shared_with": list(lane.shared_with)}
    if lane.waited_for:
        contention["waited_for"] = list(lane.waited_for)
    out: dict[str, Any] = {
        "ttft_ms": _ms(ttft),
        "total_ms": _ms(total),
        "queue_ms": _ms(lane.queue_s),
        "load_ms": _ms(lane.load_s),
        "retry_ms": _ms(retry),
        "input_tokens": in_tokens,
        "output_tokens": out_tokens,
        "tokens_per_s": rate,
        "cost_usd": cost,
        "estimated": estimated,
        "contention": contention,
    }
    if lane.prompt_cache_hit is not None:
        out["prompt_cache_hit"] = lane.prompt_cache_hit
    if lane.tokens:
        out.update(probability_figures([t.logprob for t in lane.tokens], [t.text for t in lane.tokens]))
    return out


def probability_figures(logprobs: list[float], texts: list[str]) -> dict[str, Any]:
    """Likelihood figures of a run of tokens (their natural-log probabilities and texts)."""
    n = len(logprobs)
    if not n:
        return {}
    total = math.fsum(logprobs)
    mean = total / n
    text = "".join(texts)
    chars, size = len(text), len(text.encode("utf-8", "surrogatepass"))
    bits = -total / math.log(2)
    return {
        "logprob_sum": round(total, 4),
        "logprob_mean": round(mean, 4),
        "perplexity": round(math.exp(-mean), 4) if -mean < 700 else None,  # no float overflow
        "logprob_tokens": n,
        "bits_per_char": round(bits / chars, 4) if chars else None,
        "bits_per_byte": round(bits / size, 4) if size else None,
    }


def price(lane: LaneState) -> float | None:
    """The cost of a finished lane (``LaneState.finish``): 0 for free providers, the price table
    for hosted ones."""
    if lane.provider in FREE_PROVIDERS:
        return 0.0
    in_tokens, out_tokens, _ = token_counts(lane)
    if in_tokens is None or out_tokens is None:
        return None
    return cost_usd(lane.provider, lane.provider_model, in_tokens, out_tokens)
