"""The vote bar under the lanes and the judge model, wired inside the lanes' ``@gr.render`` (the
bar's buttons depend on the number of lanes: A / B for two, "best" of a letter for more).

A human vote (``blind_runs.cast``/``blind_runs.withdraw``) updates the session, writes its export files and
re-renders the lanes from the voted session, which shows the model ids, engines and figures (the
reveal). A judge vote (``playground.arena.judge.judge_turn``) is recorded apart from the human one and
reveals nothing. Handlers stay short; the work is in ``playground.web.blind_runs`` and ``playground/``.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import Iterator
from typing import Any

import gradio as gr

from backends.errors import BackendError, ConfigError
from playground.arena.blind import record_vote
from playground.arena.judge import judge_turn
from playground.session.document import session_models
from playground.web import blind_runs, history, lane_view
from playground.web.context import Context
from playground.web.escape import esc


def status_value(ctx: Context, doc: dict[str, Any] | None) -> str:
    return blind_runs.status_html(ctx, doc, lambda m: lane_view.engine_of(ctx, m))


def vote_bar(ctx: Context, v: dict[str, Any], n: int, s: dict[str, Any]) -> Any:
    """The vote buttons for ``n`` lanes and the vote status line; returns the status component."""
    if n < 2:
        return gr.HTML('<div class="notes">Votes need two or more lanes.</div>', elem_id="vote-status")
    with gr.Row(elem_classes=["toolbar", "vote-bar"]):
        pick = None
        if n == 2:
            choices = [(gr.Button("A is better", elem_id="vote-a", size="sm"), "a"),
                       (gr.Button("B is better", elem_id="vote-b", size="sm"), "b")]
        else:
            pick = gr.Radio(list(string.ascii_uppercase[:n]), label="best answer", elem_id="vote-best-which",
                            interactive=True, container=False, scale=2)
            choices = [(gr.Button("Best is the one picked", elem_id="vote-best", size="sm"), "best")]
        choices += [(gr.Button("Tie", elem_id="vote-tie", size="sm"), "tie"),
                    (gr.Button("Both bad", elem_id="vote-bothbad", size="sm"), "bothbad")]
        withdraw_btn = gr.Button("Withdraw my vote", elem_id="vote-withdraw", size="sm", variant="secondary")
    status = gr.HTML(status_value(ctx, v.get("doc")), elem_id="vote-status")
    outs = [s["view"], s["session"], s["race"], s["export_json"], s["export_md"], s["notice"], s["models"]]

    def shown(doc: dict[str, Any], message: str) -> list[Any]:
        json_path, md_path = history.write_exports(ctx, doc["id"])
        # a hidden session opened from History: the picker now says which models these were
        picker = gr.update(value=session_models(doc)) if blind_runs.is_blind(doc) and not blind_runs.arena_on(v) else gr.skip()
        return [{**v, "doc": doc}, doc, lane_view.race_frame(doc["turns"][-1]["outputs"]), json_path, md_path,
                message, picker]

    def cleared(values: list[Any]) -> Iterator[list[Any]]:
        # the chart keeps its first lanes' colours: clear it before it gets the revealed names
        yield [gr.skip(), gr.skip(), None] + [gr.skip()] * (len(values) - 3)
        yield values

    for button, outcome in choices:
        def on_vote(doc: dict[str, Any] | None, letter: str | None = None,
                    outcome: str = outcome) -> Iterator[list[Any]]:
            updated = blind_runs.cast(ctx, doc, outcome, letter)
            yield from cleared(shown(updated, f"vote saved on turn {len(updated['turns'])}"))

        button.click(on_vote, [s["session"]] + ([pick] if pick is not None else []), outs,
                     api_visibility="private")

    def on_withdraw(doc: dict[str, Any] | None) -> list[Any]:
        updated = blind_runs.withdraw(ctx, doc)
        return shown(updated, "vote withdrawn")

    withdraw_btn.click(on_withdraw, s["session"], outs, api_visibility="private")
    async def on_judge(doc: dict[str, Any] | None, model: str, rubric: str) -> list[Any]:
        return await judge(ctx, doc, model, rubric, True)

    s["judge_run"].click(on_judge, [s["session"], s["judge_model"], s["judge_rubric"]],
                         [s["session"], s["judge_out"], status], api_visibility="private")
    return status


def after_run(ctx: Context, event: Any, s: dict[str, Any], status: Any, judging: bool = True) -> None:
    """Once a run ends: the judge votes when "judge every run" is on (``judging``: a Run, not a
    replay or a re-run); the vote status is refreshed."""
    async def then(doc: dict[str, Any] | None, model: str, rubric: str, auto: bool) -> list[Any]:
        return await judge(ctx, doc, model, rubric, judging and auto)

    event.then(then, [s["session"], s["judge_model"], s["judge_rubric"], s["judge_auto"]],
               [s["session"], s["judge_out"], status], api_visibility="private")


async def judge(ctx: Context, doc: dict[str, Any] | None, model: str | None, rubric: str | None,
                wanted: bool) -> list[Any]:
    """(session, judge output, vote status): the judge's vote on the last turn, when ``wanted``."""
    model = (model or "").strip()
    if not wanted or not doc or not doc.get("turns"):
        return [gr.skip(), gr.skip() if not wanted else "run a comparison first", status_value(ctx, doc)]
    if not model:
        return [gr.skip(), "enter a judge model id first", status_value(ctx, doc)]
    if len([o for o in doc["turns"][-1]["outputs"] if not o.get("warmup")]) < 2:
        return [gr.skip(), "a judge needs two or more answers", status_value(ctx, doc)]
    try:
        vote = await judge_turn(ctx.runtime, doc, len(doc["turns"]) - 1, model, rubric or "")
    except (BackendError, ConfigError) as exc:
        return [gr.skip(), f'<div class="lane-error">⚠ {esc(exc)}</div>', status_value(ctx, doc)]
    updated = await asyncio.to_thread(record_vote, ctx.store, doc, vote)
    return [updated, blind_runs.judge_html(vote).replace("<details", "<details open", 1), status_value(ctx, updated)]
