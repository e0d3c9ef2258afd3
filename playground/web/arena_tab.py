"""The Leaderboard tab: Bradley–Terry ratings with 95% intervals, votes per model and the win-rate
matrix as a heat-map, over the votes and imported battles in the store (``playground.arena.ratings.board``,
the same gathering and filters as ``playground arena leaderboard``). This module only reads the
filters and draws HTML; every model id and tag goes through ``escape.esc``.
"""

from __future__ import annotations

import math
from typing import Any

import gradio as gr

from playground.arena.ratings import Filters, board
from playground.arena.votes import parse_time
from playground.web.context import Context
from playground.web.escape import esc

SOURCES = ("human", "judge", "both")
BOTHBAD = ("exclude", "tie")


def filters_of(since: str, until: str, tags: str, blind_only: bool, source: str, bothbad: str) -> Filters:
    """Filters from the tab's fields; raises ValueError naming the field that is wrong."""
    for name, value in (("since", since), ("until", until)):
        if value and value.strip():
            try:
                parse_time(value.strip())
            except ValueError:
                raise ValueError(f"{name}: use a date like 2026-01-31 (or 2026-01-31T12:00)") from None
    wanted = tuple(t.strip() for t in (tags or "").split(",") if t.strip())
    return Filters(since=(since or "").strip() or None, until=(until or "").strip() or None,
                   tags=wanted or None, blind_only=bool(blind_only),
                   source=source if source in SOURCES else "human",
                   bothbad=bothbad if bothbad in BOTHBAD else "exclude")


def ratings_html(result: dict[str, Any], filters: Filters) -> str:
    rows = []
    for r in result["ratings"]:
        if r.rating is None:
            rows.append(f'<tr><td>—</td><td class="lb-model">{esc(r.model)}</td><td>unrated</td>'
                        f"<td></td><td>{r.votes}</td><td></td></tr>")
            continue
        ci = f"{r.lower:.0f} – {r.upper:.0f}" if r.lower is not None else "—"
        rows.append(f'<tr><td>{r.rank or "—"}</td><td class="lb-model">{esc(r.model)}</td>'
                    f"<td>{r.rating:.0f}</td><td>{ci}</td><td>{r.votes}</td>"
                    f"<td>{r.wins}-{r.ties}-{r.losses}</td></tr>")
    # the header counts what the table counts: the games rated (a both-bad battle left out is no game)
    left_out = result["battles"] - result["pairs"]
    what = (f"{result['pairs']} game(s) rated" + (f", {left_out} both-bad battle(s) left out" if left_out else "")
            + f" ({filters.source} votes, {'blind only' if filters.blind_only else 'blind and named'}, "
            f"both-bad {'left out' if filters.bothbad == 'exclude' else 'counted as a tie'})")
    if not rows:
        return f'<div class="notes">No votes match: {esc(what)}. Vote in Compare (blind or battle mode).</div>'
    head = "".join(f"<th>{h}</th>" for h in ("rank", "model", "rating", "95% interval", "votes", "W-T-L"))
    return (f'<div class="notes">{esc(what)}</div><table class="lb-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _cell_colour(rate: float) -> str:
    """Red (0) through pale yellow (0.5) to green (1)."""
    return f"hsl({rate * 120:.0f}, 70%, {88 - 18 * abs(rate - 0.5):.0f}%)"


def matrix_html(result: dict[str, Any], order: list[str]) -> str:
    """Row model's score rate against the column model (ties count half), sorted by rating."""
    m = result["matrix"]
    index = {name: k for k, name in enumerate(m["models"])}
    names = [name for name in order if name in index]
    if len(names) < 2:
        return ""
    head = "".join(f'<th title="{esc(c)}">{esc(c)}</th>' for c in names)
    rows = []
    for a in names:
        cells = []
        for b in names:
            i, j = index[a], index[b]
            rate, games = float(m["rates"][i][j]), int(m["games"][i][j])
            if a == b or games == 0 or math.isnan(rate):
                cells.append('<td class="wr-none">—</td>')
                continue
            tip = esc(f"{a} vs {b}: {rate:.0%} of {games} game(s)")
            cells.append(f'<td style="background:{_cell_colour(rate)}" title="{tip}">{rate:.0%}'
                         f'<span class="wr-n"> ({games})</span></td>')
        rows.append(f'<tr><th class="lb-model">{esc(a)}</th>{"".join(cells)}</tr>')
    return ('<div class="notes">Win rate of the row model against the column model (ties count half; '
            'games in brackets)</div>'
            f'<table class="wr-table"><thead><tr><th></th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def render(ctx: Context, since: str, until: str, tags: str, blind_only: bool, source: str,
           bothbad: str) -> tuple[str, str]:
    """(ratings table, heat-map) as HTML for the tab's filters."""
    try:
        filters = filters_of(since, until, tags, blind_only, source, bothbad)
    except ValueError as exc:
        return f'<div class="lane-error">⚠ {esc(str(exc))}</div>', ""
    result = board(ctx.store, filters)
    order = [r.model for r in result["ratings"] if r.rating is not None]
    return skipped_html(result["skipped"]) + ratings_html(result, filters), matrix_html(result, order)


def skipped_html(notes: list[str]) -> str:
    """One warning line per saved session the leaderboard left out (its votes are not sound)."""
    return "".join(f'<div class="lane-error lb-skipped">⚠ {esc(note)}</div>' for note in notes)


def build(ctx: Context) -> Any:
    """The tab's components and events, inside ``gr.Blocks``; returns the tab."""
    with gr.Tab("Leaderboard", id="leaderboard-tab") as tab:
        with gr.Row():
            since = gr.Textbox(label="since (date)", placeholder="2026-01-31", elem_id="lb-since", scale=1)
            until = gr.Textbox(label="until (date, excluded)", placeholder="", elem_id="lb-until", scale=1)
            tags = gr.Textbox(label="tags (any of, comma-separated)", placeholder="battle",
                              elem_id="lb-tags", scale=1)
        with gr.Row():
            blind_only = gr.Checkbox(True, label="blind votes only", elem_id="lb-blind-only", interactive=True)
            source = gr.Radio(list(SOURCES), value="human", label="votes from", elem_id="lb-source",
                              interactive=True)
            bothbad = gr.Radio(list(BOTHBAD), value="exclude", label='"both bad" votes', elem_id="lb-bothbad",
                               interactive=True)
            refresh = gr.Button("Refresh", elem_id="lb-refresh", size="sm")
        table = gr.HTML(elem_id="leaderboard")
        matrix = gr.HTML(elem_id="winrate")
    inputs = [since, until, tags, blind_only, source, bothbad]

    def show(*values: Any) -> tuple[str, str]:
        return render(ctx, *values)

    for trigger in (tab.select, refresh.click, since.submit, until.submit, tags.submit, blind_only.input,
                    source.input, bothbad.input):
        trigger(show, inputs, [table, matrix], api_visibility="private")
    return tab
