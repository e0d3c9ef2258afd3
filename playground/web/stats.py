"""The Stats tab: per model across saved sessions — runs, median and p90 TTFT, median tokens/s,
error rate, median cost — from ``store.model_stats()`` (one row per output), as a table and as
one point per run (TTFT against tokens/s, coloured by model). The outputs of blind sessions not
voted on yet are left out (``blind_runs.visible_stats``), and so are the scripted ``test:`` models
unless asked for (their figures are made up, not measured); the rows can be narrowed to some models
and to a date range."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from playground.web import blind_runs
from playground.web.context import Context

SCRIPTED = "test:"  # the scripted provider's ids: test machinery, not models
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


@dataclass(frozen=True)
class StatsFilter:
    """Which outputs the tab counts: ``test:`` models or not, some models only, a date range
    (``since`` included, ``until`` excluded; ISO dates as typed, compared with the output's time)."""

    scripted: bool = False
    models: tuple[str, ...] = ()
    since: str = ""
    until: str = ""

    def keeps(self, row: dict[str, Any]) -> bool:
        model, at = str(row.get("model") or ""), str(row.get("created_at") or "")
        if not self.scripted and model.startswith(SCRIPTED):
            return False
        if self.models and model not in self.models:
            return False
        return (not self.since or at >= self.since) and (not self.until or at < self.until)


def _date(value: str | None, name: str) -> str:
    """A date or date-time as typed (2026-01-31, 2026-01-31T12:00), checked; "" when blank."""
    from datetime import datetime

    text = (value or "").strip()
    if text:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name}: use a date like 2026-01-31 (or 2026-01-31T12:00), not {text[:40]!r}") from None
    return text


def filter_of(scripted: bool, models: list[str] | None, since: str | None, until: str | None) -> StatsFilter:
    """The tab's fields as a filter; raises ValueError naming the field that is wrong."""
    return StatsFilter(bool(scripted), tuple(models or ()), _date(since, "since"), _date(until, "until"))


def model_choices(rows: list[dict[str, Any]], scripted: bool) -> list[str]:
    return sorted({r["model"] for r in rows if scripted or not str(r["model"]).startswith(SCRIPTED)})


def build(ctx: Context) -> None:
    """The tab's components and events, inside ``gr.Tabs``: redrawn when the tab is opened and when
    a filter changes."""
    with gr.Tab("Stats", id="stats-tab") as tab:
        with gr.Row(equal_height=True):
            models = gr.Dropdown(choices=[], value=[], multiselect=True, label="models (all when empty)",
                                 elem_id="stats-models", interactive=True, scale=3)
            since = gr.Textbox(label="since (date)", placeholder="2026-01-31", elem_id="stats-since", scale=1)
            until = gr.Textbox(label="until (date, excluded)", elem_id="stats-until", scale=1)
            scripted = gr.Checkbox(False, label="include the test: models (made-up answers, not measured)", elem_id="stats-include-test",
                                   interactive=True, scale=1)
        note = gr.Markdown("", elem_id="stats-note")
        table = gr.Dataframe(headers=TABLE, interactive=False, elem_id="stats-table")
        plot = gr.ScatterPlot(x="ttft_ms", y="tokens_per_s", color="model", elem_id="stats-plot",
                              label="one point per run: TTFT (ms) against tokens/s")

    def shown(with_scripted: bool, chosen: list[str] | None, start: str, end: str) -> dict[Any, Any]:
        all_rows = blind_runs.visible_stats(ctx)
        choices = model_choices(all_rows, bool(with_scripted))
        picked = [m for m in chosen or [] if m in choices]
        try:
            wanted = filter_of(with_scripted, picked, start, end)
        except ValueError as exc:
            return {note: f"⚠ {exc}", models: gr.update(choices=choices, value=picked)}
        rows, points = frames([r for r in all_rows if wanted.keeps(r)])
        said = "" if len(rows) else "No runs match these filters."
        return {table: rows, plot: points, note: said, models: gr.update(choices=choices, value=picked)}

    inputs = [scripted, models, since, until]
    outputs = [table, plot, note, models]
    for trigger in (tab.select, scripted.input, models.input, since.submit, until.submit, since.blur, until.blur):
        trigger(shown, inputs, outputs, api_visibility="private")
