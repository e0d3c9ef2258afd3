"""Figures as people read them: formatting, best-of-run marks, and notes on waits and sharing.

Shared by the terminal and the page so both say the same thing the same way. Works on output
records (the ``metrics`` dicts of docs/architecture.md#timing); computes nothing new.
"""

from __future__ import annotations

from typing import Any

# figure -> True when lower is better
FIGURES: dict[str, bool] = {"ttft_ms": True, "total_ms": True, "tokens_per_s": False, "cost_usd": True}


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "—"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def fmt_cost(cost: float | None) -> str:
    if cost is None:
        return "$?"
    if cost == 0:
        return "$0"
    return f"${cost:.4f}" if cost >= 0.0001 else f"${cost:.2e}"


def fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1f} tok/s"


def best_lanes(outputs: list[dict[str, Any]]) -> dict[str, set[int]]:
    """For each figure, the lanes holding the best value (only among ok lanes, ≥ 2 of them)."""
    best: dict[str, set[int]] = {}
    ok = [(i, o["metrics"]) for i, o in enumerate(outputs) if o.get("status") == "ok"]
    if len(ok) < 2:
        return best
    for name, lower in FIGURES.items():
        values = [(i, m.get(name)) for i, m in ok if m.get(name) is not None]
        if len(values) < 2:
            continue
        target = min(v for _, v in values) if lower else max(v for _, v in values)
        if all(v == target for _, v in values):
            continue  # a tie across every lane marks nothing
        best[name] = {i for i, v in values if v == target}
    return best


def estimated_mark(metrics: dict[str, Any], name: str) -> str:
    return "~" if name in (metrics.get("estimated") or []) else ""


def answer_start_ms(metrics: dict[str, Any]) -> float:
    """When the answering request was sent, in ms from the lane's start: the waits, the load and
    the failed attempts before it. Timeline times are from that moment (t0)."""
    return sum(metrics.get(name) or 0 for name in ("queue_ms", "load_ms", "retry_ms"))


def end_ms(metrics: dict[str, Any]) -> float:
    """When the lane ended, in ms from its start (total_ms runs from the first request sent)."""
    return sum(metrics.get(name) or 0 for name in ("queue_ms", "load_ms", "total_ms"))


def notes(metrics: dict[str, Any]) -> list[str]:
    """Why a lane's figures may not be the model's alone: waits, loads, sharing, retries."""
    out: list[str] = []
    if (metrics.get("load_ms") or 0) > 0:
        out.append(f"load {fmt_ms(metrics['load_ms'])} (not in TTFT)")
    if (metrics.get("queue_ms") or 0) >= 1:
        out.append(f"queued {fmt_ms(metrics['queue_ms'])}")
    if (metrics.get("retry_ms") or 0) > 0:
        out.append(f"retried {fmt_ms(metrics['retry_ms'])} (in total, not in TTFT)")
    contention = metrics.get("contention") or {}
    if contention.get("waited_for"):
        out.append("waited for " + ", ".join(contention["waited_for"]))
    if contention.get("shared_with"):
        out.append("shared with " + ", ".join(contention["shared_with"]))
    if contention.get("threads"):
        out.append(f"{contention['threads']} threads")
    if metrics.get("prompt_cache_hit"):
        out.append("prompt cache hit: TTFT not the model's cold figure")
    return out


def output_notes(output: dict[str, Any]) -> list[str]:
    """Everything to show beside an output: its figures' notes, then what the record itself notes
    (a base model asked to chat: "no chat template: the prompt was sent as plain text")."""
    return notes(output.get("metrics") or {}) + [str(n) for n in output.get("notes") or ()]


def summary_line(output: dict[str, Any], best: dict[str, set[int]] | None = None, lane: int = 0) -> str:
    """One line of figures for a lane: TTFT, rate, tokens, total, cost; ★ marks the best."""
    m = output.get("metrics") or {}
    best = best or {}

    def star(name: str) -> str:
        return " ★" if lane in best.get(name, set()) else ""

    tokens = m.get("output_tokens")
    parts = [
        f"TTFT {fmt_ms(m.get('ttft_ms'))}{star('ttft_ms')}",
        f"{estimated_mark(m, 'tokens_per_s')}{fmt_rate(m.get('tokens_per_s'))}{star('tokens_per_s')}",
        f"{estimated_mark(m, 'output_tokens')}{tokens if tokens is not None else '—'} tok",
        f"{fmt_ms(m.get('total_ms'))}{star('total_ms')}",
        f"{estimated_mark(m, 'cost_usd')}{fmt_cost(m.get('cost_usd'))}{star('cost_usd')}",
    ]
    return " · ".join(parts)


def fmt_summary(summary: dict[str, Any], unit: str) -> str:
    """A repeat-run summary (playground.session.aggregate): median · p90 (min–max) unit."""
    if summary.get("median") is None:
        return "—"
    return (f"{summary['median']:.1f} · {summary['p90']:.1f} "
            f"({summary['min']:.1f}–{summary['max']:.1f}) {unit}")


def fmt_logprob(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}".replace("-", "−")


def likelihood_line(metrics: dict[str, Any]) -> str | None:
    """``mean logprob −0.532 · perplexity 1.70`` for a lane with probabilities, else None."""
    if metrics.get("logprob_mean") is None:
        return None
    ppl = metrics.get("perplexity")
    return (f"mean logprob {fmt_logprob(metrics['logprob_mean'])} · "
            f"perplexity {'—' if ppl is None else f'{ppl:.2f}'}")


def probability_note(output: dict[str, Any]) -> str | None:
    """Why a lane that was asked for probabilities shows none (``probabilities not offered by X``)."""
    return (output.get("logprobs") or {}).get("note")


# Said wherever per-token likelihoods of several models are shown side by side.
TOKENIZER_NOTE = ("per-token figures (tokens, mean, perplexity) depend on each model's tokenizer and "
                  "are not comparable across tokenizers; bits per character and per byte are")
