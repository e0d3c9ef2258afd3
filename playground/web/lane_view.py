"""What a lane looks like: its header, answer, status badge, figures and earlier turns, as HTML.

Every piece of model or user text goes through ``escape.esc`` here, so an answer containing
``<script>`` or ``<img onerror=...>`` is shown as text and never runs — but for answers, which are
Markdown rendered by ``markdown_view`` (safe in its own way: no raw HTML, no script links, no
images), in the lane and in its earlier turns. The header carries the lane's "raw" toggle and copy
button (their behaviour is the page script's, ``theme.JS``). Figures and their best-of marks come from ``playground.engine.figures``; nothing is computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from backends.registry import PROVIDERS, split_model_id
from playground.engine import figures
from playground.session.history import LaneHistory
from playground.web.escape import esc, md
from playground.web.markdown_view import answer_body
from playground.web.tokens_view import Probs, figures_html, shaded
from storage.document import Output

STATUS_TEXT = {
    "waiting": "waiting", "queued": "queued", "loading": "loading model…", "running": "sent, no text yet",
    "streaming": "streaming", "ok": "done", "error": "error", "cancelled": "cancelled",
    "interrupted": "interrupted", "replaying": "replaying",
}
# figure key, label, format, what it means (each figure's tooltip and accessible name; docs/architecture.md#timing)
_FIGS = [("ttft_ms", "TTFT", figures.fmt_ms,
          "time to first token: from the request sent to the first text (waits and model loads not included)"),
         ("total_ms", "total", figures.fmt_ms, "total time: from the request sent to the answer's end"),
         ("output_tokens", "tokens", lambda v: "—" if v is None else f"{v} tok", "tokens in the answer"),
         ("tokens_per_s", "rate", figures.fmt_rate, "tokens per second after the first token (the decode rate)"),
         ("cost_usd", "cost", figures.fmt_cost, "cost in US dollars from the price list")]
MARKS = {  # the marks a figure may carry, explained the same way
    "★": "best of the lanes on this figure",
    "~": "estimated: tokens counted with a tokenizer, not reported by the provider",
    "$?": "cost unknown: no price listed for this model",
    "—": "not measured (no text, or too little to time)",
}
CUT_AT_MAX = "cut at max tokens"
_CUT_TIP = "the answer stopped because it reached the max tokens limit (finish: length); raise max tokens for more"


def engine_of(ctx: Any, model: str) -> str:
    """The engine a model id runs on ("llama.cpp", "OpenAI API", …); "" for an unknown id."""
    named = ctx.settings.models.get(model)
    try:
        provider = named.provider if named else split_model_id(model)[0]
        return PROVIDERS[provider].engine
    except Exception:  # noqa: BLE001 - an unknown id: its lane will say why
        return ""


def answer_html(text: str, probs: Probs | None = None) -> str:
    """The lane's answer: rendered Markdown, with the text as written for the raw view and copy —
    or, when it has token probabilities (``tokens_view.probs_of``), the text shaded by them."""
    return shaded(text, probs) if probs is not None and probs.rows else answer_body(text)


def header_html(model: str, engine: str) -> str:
    """The lane's name, its engine, and its tools: "raw" (show the answer as written) and "copy"
    (the answer as written, to the clipboard). ``model`` is what the lane is called on the page
    (a blind lane's letter): the copy button's accessible name says whose answer it copies."""
    sub = f' <span class="lane-engine">({esc(engine)})</span>' if engine else ""
    tools = ('<span class="lane-tools">'
             '<button type="button" class="lane-raw" aria-pressed="false" '
             'title="Show the answer as the model wrote it">raw</button>'
             f'<button type="button" class="lane-copy" aria-label="Copy answer of {esc(model)}" '
             'title="Copy the answer as the model wrote it">copy</button></span>')
    return f'<div class="lane-head"><span class="lane-model">{esc(model)}</span>{sub}{tools}</div>'


def status_label(status: str, clock_s: float | None = None, detail: str = "") -> str:
    label = STATUS_TEXT.get(status, status)
    if status in ("queued", "loading") and clock_s is not None:
        label += f" {clock_s:.0f} s"
    if status == "queued" and detail:
        label += f" ({detail})"
    return label


def _tip(text: str) -> str:
    return f'title="{esc(text)}" aria-label="{esc(text)}"'


def _figure(name: str, title: str, value: str, meaning: str, mark: str, is_best: bool) -> str:
    """One figure with its meaning and every mark it carries in its tooltip and accessible name."""
    said = [f"{title} {value}: {meaning}"]
    if mark:
        said.append(MARKS["~"])
    if value in MARKS and value != "★":
        said.append(MARKS[value])
    if is_best:
        said.append(MARKS["★"])
    cls = "fig best" if is_best else "fig"
    star = ' <span class="mark" aria-hidden="true">★</span>' if is_best else ""
    return (f'<span class="{cls}" data-figure="{esc(name)}" role="img" {_tip("; ".join(said))}>'
            f"<b>{title}</b> {mark}{esc(value)}{star}</span>")


def stats_html(record: dict[str, Any] | None, *, status: str, lane: int = 0,
               best: dict[str, set[int]] | None = None, clock_s: float | None = None,
               detail: str = "", blind: bool = False, hide: bool = False) -> str:
    """The lane's status badge, its figures (★ on the best across lanes; ~ on estimates; each with
    a tooltip and an accessible name saying what it means), "cut at max tokens" for an answer that
    stopped at the limit, its notes (waits, loads, CPU sharing) and its error as a sentence. A lane
    that has not run (``record`` None) shows nothing; one about to run (``{}``) its badge alone,
    no empty figures. ``blind``: nothing that
    could name the model (no notes, no wait detail, no error message); ``hide``: no figures either."""
    if record is None:
        return ""
    m = record.get("metrics") or {}
    best = best or {}
    if blind:
        detail = ""
    badge = f'<span class="badge st-{esc(status)}">{esc(status_label(status, clock_s, detail))}</span>'
    if not record:
        return f'<div class="figs">{badge}</div>'
    figs = [_figure(name, title, fmt(m.get(name)), meaning, figures.estimated_mark(m, name),
                    lane in best.get(name, set()))
            for name, title, fmt, meaning in _FIGS]
    if blind and hide:
        figs = ['<span class="fig">figures after the vote</span>']
    if record.get("finish_reason") == "length":
        figs.append(f'<span class="fig cut" {_tip(_CUT_TIP)}>✂ {CUT_AT_MAX}</span>')
    parts = [f'<div class="figs">{badge} {" ".join(figs)}</div>' + ("" if blind and hide else
                                                                    figures_html(record, blind=blind))]
    error = record.get("error")
    if blind:
        return parts[0] + ('<div class="lane-error">⚠ the error is shown after the vote</div>' if error else "")
    if record.get("answered_by"):  # a server that ignored the model name: say who answered
        parts.insert(0, f'<div class="answered-by">answered by {esc(record["answered_by"])}</div>')
    notes = figures.output_notes(record)
    if notes:
        parts.append(f'<div class="notes">{esc(" · ".join(notes))}</div>')
    if error:
        parts.append(f'<div class="lane-error">⚠ {esc(error.get("message"))}</div>')
    return "".join(parts)


def legend_html() -> str:
    """What the figures and marks under the lanes mean, once for the page (each has a tooltip too)."""
    rows = [f"<li><b>{title}</b>: {esc(meaning)}</li>" for _, title, _, meaning in _FIGS]
    rows += [f"<li><b>{esc(mark)}</b>: {esc(meaning)}</li>" for mark, meaning in MARKS.items()]
    rows.append(f"<li><b>✂ {CUT_AT_MAX}</b>: {esc(_CUT_TIP)}</li>")
    return (f'<details class="fig-legend" id="fig-legend"><summary>What the figures mean</summary>'
            f'<ul>{"".join(rows)}</ul></details>')


def earlier_html(turns: Sequence[tuple[str, Output | None]], prompt: str | None = None,
                 figures_shown: bool = True) -> str:
    """Earlier turns of a lane's conversation, each collapsed to its first line, then the prompt
    its answer below replies to. ``figures_shown=False``: no figures line (a blind run hiding them)."""
    out = []
    for n, (asked, output) in enumerate(turns, 1):
        first = (asked.strip().splitlines() or [""])[0]
        first = first if len(first) <= 60 else first[:59] + "…"
        answer = output.text if output else ""
        line = figures.summary_line(output.model_dump(include={"metrics"})) if output and figures_shown else ""
        out.append(f'<details class="turn"><summary>Turn {n}: {esc(first)}</summary>'
                   f'<div class="turn-q">{esc(asked)}</div><div class="turn-a">{answer_body(answer)}</div>'
                   f'<div class="notes">{esc(line)}</div></details>')
    if prompt:
        out.append(f'<div class="turn-prompt">› {esc(prompt)}</div>')
    return "".join(out)


def history_html(history: LaneHistory, prompt: str | None = None, figures_shown: bool = True,
                 named: bool = True) -> str:
    """A lane's earlier turns as it sends them (``playground.session.history``: its own model's
    answers, found by model), after a line saying which turns were not its own and what it was sent
    for them. ``named=False``: no such line (a blind lane: it would name a model)."""
    note = history.note() if named else ""
    head = f'<div class="notes lane-joined">{esc(note)}</div>' if note else ""
    return head + earlier_html([(t.prompt, Output.model_validate(t.output) if t.output else None) for t in history.turns],
                              prompt, figures_shown)


RACE_POINTS = 120  # per lane: the curve's shape at chart size; every chunk would be thousands of points


def race_frame(outputs: Sequence[Output], names: Sequence[str] | None = None) -> pd.DataFrame:
    """Cumulative characters over time, one line per lane, from each output's timeline. Times are
    from the lane's start (its queue and load waits and failed attempts included), so the race reads as the user saw it.
    At most ``RACE_POINTS`` points a lane (the first and last always): the page keeps the chart's
    data in its state, and thousands of points made every later update of the page slower."""
    rows: list[tuple[float, int, str]] = []
    for i, o in enumerate(outputs):
        name = f"{i + 1}: {names[i] if names else o.model}"
        offset = figures.answer_start_ms(o.metrics.model_dump())
        total = 0
        points = [(offset / 1000, 0)]
        for ms, chars in o.timeline:
            total += chars
            points.append(((offset + ms) / 1000, total))
        step = max(1, -(-(len(points) - 1) // (RACE_POINTS - 1)))  # ceil: at most RACE_POINTS kept
        kept = points[::step] + ([points[-1]] if (len(points) - 1) % step else [])
        rows.extend((t, c, name) for t, c in kept)
    return pd.DataFrame(rows, columns=["seconds", "characters", "lane"])


def repeat_markdown(outputs: Sequence[Output]) -> str:
    """Repeat runs per lane: median · p90 (min–max) of TTFT, tokens/s and total (playground.session.aggregate)."""
    from playground.session.aggregate import aggregate

    cell = figures.fmt_summary

    rows = ["| lane | runs | TTFT median · p90 (min–max) | tokens/s | total |", "| --- | --- | --- | --- | --- |"]
    for i, row in enumerate(aggregate(list(outputs))):
        runs = f"{row['runs']}" + (f" (+{row['failed']} failed)" if row["failed"] else "")
        runs += f", {row['warmups']} warm-up" if row["warmups"] else ""
        model = md(" ".join(row["model"].split()))  # one table cell: no line breaks
        rows.append(f"| {i + 1}: {model} | {runs} | {cell(row['ttft_ms'], 'ms')} | "
                    f"{cell(row['tokens_per_s'], 'tok/s')} | {cell(row['total_ms'], 'ms')} |")
    return "\n".join(rows)
