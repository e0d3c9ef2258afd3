"""The Stats tab: per model across saved sessions — runs, median and p90 TTFT, median tokens/s,
error rate, median cost — from ``store.model_stats()`` (one row per output), as a table and as
one point per run (TTFT against tokens/s, coloured by model). The outputs of blind sessions not
voted on yet are left out (``blind_runs.visible_stats``)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from playground.web import blind_runs
from playground.web.context import Context

TABLE = ["model", "runs", "median TTFT (ms)", "p90 TTFT (ms)", "median tok/s", "error rate", "median cost ($)"]


def frames(rows: list[dict[str, Any]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the per-model table, the per-run points)."""
    if not rows:
        return pd.DataFrame(columns=TABLE), pd.DataFrame(columns=["ttft_ms", "tokens_per_s", "model"])
    df = pd.DataFrame(rows)
    done = df[df["status"].isin(["ok", "error"])]  # cancelled/interrupted runs say nothing of a model
    ok = done[done["status"] == "ok"]
    table = []
    for model, group in done.groupby("model", sort=True):
        good = ok[ok["model"] == model]
        ttft = good["ttft_ms"].dropna()
        rate = good["tokens_per_s"].dropna()
        cost = good["cost_usd"].dropna()
        table.append([
            model, len(group),
            round(ttft.median(), 1) if len(ttft) else None,
            round(ttft.quantile(0.9), 1) if len(ttft) else None,
            round(rate.median(), 1) if len(rate) else None,
            f"{(group['status'] == 'error').mean():.0%}",
            float(cost.median()) if len(cost) else None,
        ])
    points = ok[["ttft_ms", "tokens_per_s", "model"]].dropna()
    return pd.DataFrame(table, columns=TABLE), points.reset_index(drop=True)


def build(ctx: Context) -> None:
    """The tab's components and event, inside ``gr.Tabs``: both are redrawn when the tab is opened."""
    with gr.Tab("Stats", id="stats-tab") as tab:
        table = gr.Dataframe(headers=TABLE, interactive=False, elem_id="stats-table")
        plot = gr.ScatterPlot(x="ttft_ms", y="tokens_per_s", color="model", elem_id="stats-plot",
                              label="one point per run: TTFT (ms) against tokens/s")

    def shown() -> dict[Any, Any]:
        rows, points = frames(blind_runs.visible_stats(ctx))
        return {table: rows, plot: points}

    tab.select(shown, None, [table, plot], api_visibility="private")
