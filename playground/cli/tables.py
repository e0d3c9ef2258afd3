"""The tables printed after a run (``compare``, ``sessions show``, ``sessions rerun``): each lane's
figures, repeat-run summaries, and the likelihoods of lanes with token probabilities."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from playground.cli.console import printable
from playground.engine import figures


def figures_table(doc: dict[str, Any], names: list[str] | None = None) -> Table:
    outputs = doc["turns"][-1]["outputs"]
    best = figures.best_lanes(outputs)
    table = Table(title="figures", expand=False)
    for col in ("lane", "status", "TTFT", "total", "tokens", "tok/s", "cost", "notes"):
        table.add_column(col)
    for i, out in enumerate(outputs):
        m = out["metrics"]
        star = {k: " ★" if i in best.get(k, set()) else "" for k in figures.FIGURES}
        name = names[i] if names else out["model"]
        notes = figures.notes(m) if names else figures.output_notes(out)  # names: blind letters
        if figures.probability_note(out):  # said with the name shown (a blind lane's letter)
            notes.append(f"probabilities not offered by {name}")
        if out.get("repeat") is not None:
            name += f" #{out['repeat']}" + (" (warm-up)" if out.get("warmup") else "")
        table.add_row(
            printable(name), out["status"],
            figures.fmt_ms(m["ttft_ms"]) + star["ttft_ms"],
            figures.fmt_ms(m["total_ms"]) + star["total_ms"],
            f"{figures.estimated_mark(m, 'output_tokens')}{m['output_tokens']}",
            figures.estimated_mark(m, "tokens_per_s") + figures.fmt_rate(m["tokens_per_s"]) + star["tokens_per_s"],
            figures.fmt_cost(m["cost_usd"]) + star["cost_usd"],
            printable("; ".join(notes)),
        )
    return table


def repeat_table(outputs: list[dict[str, Any]], names: list[str] | None = None) -> Table:
    from playground.session.aggregate import aggregate

    table = Table(title="repeat runs: median · p90 (min–max)")
    for col in ("lane", "runs", "TTFT", "tok/s", "total"):
        table.add_column(col)
    cell = figures.fmt_summary
    for i, row in enumerate(aggregate(outputs)):
        runs = f"{row['runs']}" + (f" (+{row['failed']} failed)" if row["failed"] else "")
        table.add_row(printable(names[i] if names else row["model"]), runs, cell(row["ttft_ms"], "ms"),
                      cell(row["tokens_per_s"], "tok/s"), cell(row["total_ms"], "ms"))
    return table


def likelihood_table(doc: dict[str, Any], names: list[str] | None = None) -> Group | None:
    """Each lane's likelihood of its text (the scored text, or its answer), with the note that
    per-token figures do not compare across tokenizers; None when no lane has probabilities."""
    outputs = doc["turns"][-1]["outputs"]
    if not any(out["metrics"].get("logprob_tokens") for out in outputs):
        return None
    table = Table(title="likelihood (natural log)")
    for col in ("lane", "tokens", "log-likelihood", "mean / token", "perplexity", "bits / char",
                "bits / byte", "kind"):
        table.add_column(col)
    for i, out in enumerate(outputs):
        m, name = out["metrics"], names[i] if names else out["model"]
        if not m.get("logprob_tokens"):
            why = f"probabilities not offered by {name}" if figures.probability_note(out) else out["status"]
            table.add_row(printable(name), "—", printable(why), "", "", "", "", "")
            continue
        kind = (out.get("logprobs") or {}).get("kind") or "?"
        table.add_row(printable(name), str(m["logprob_tokens"]), figures.fmt_logprob(m["logprob_sum"]),
                      figures.fmt_logprob(m["logprob_mean"]), _num(m.get("perplexity")),
                      _num(m.get("bits_per_char")), _num(m.get("bits_per_byte")), printable(kind))
    return Group(table, Text(figures.TOKENIZER_NOTE, style="dim"))


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
