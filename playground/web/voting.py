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
from playground.web import blind_runs, history, lane_view
from playground.web.context import Context
from playground.web.escape import esc
from playground.web.views import CompareView, LaneView
from storage.document import Session, Vote


def status_value(ctx: Context, doc: dict[str, Any] | None) -> str:
    return blind_runs.status_html(ctx, doc, lambda m: lane_view.engine_of(ctx, m))


def votable(doc: dict[str, Any] | None) -> bool:
    """Whether a vote means something here: the session shown has a last turn with two or more
    counted answers (nothing to vote on before a run, or with one lane)."""
    if not doc or not doc.get("turns"):
        return False
    return len([o for o in doc["turns"][-1]["outputs"] if not o.get("warmup")]) >= 2


def choice_names(names: list[str] | None, chosen: list[str]) -> list[str]:
    """What the vote buttons call each lane: its letter in a blind view ("A"), else its model."""
    if names is not None:
        return list(string.ascii_uppercase[:len(names)])
    return list(chosen)


def vote_bar(ctx: Context, v: LaneView, n: int, view: CompareView, names: list[str] | None = None,
             chosen: list[str] | None = None) -> Any:
    """The vote buttons for ``n`` lanes (named by letter when ``names`` hides the models, else by
    model) and the vote status line, shown only once the session shown has answers to vote on, and
    "New round" in blind and battle modes; returns the status component and ``follow(event)``, which
    has the bar follow the session an event leaves shown."""
    doc = v.doc
    if n < 2:
        return gr.HTML("", elem_id="vote-status", visible=False), lambda event: None
    called = choice_names(names, chosen or list(v.models))
    arena = blind_runs.arena_on(v)
    with gr.Row(elem_classes=["toolbar", "vote-bar"], visible=votable(doc)) as bar:
        pick = None
        if n == 2:
            choices = [(gr.Button(f"{called[0]} is better", elem_id="vote-a", size="sm"), "a"),
                       (gr.Button(f"{called[1]} is better", elem_id="vote-b", size="sm"), "b")]
        else:
            pick = gr.Radio([(name, letter) for name, letter in zip(called, string.ascii_uppercase, strict=False)],
                            label="best answer", elem_id="vote-best-which", interactive=True, container=False,
                            scale=2)
            choices = [(gr.Button("Best is the one picked", elem_id="vote-best", size="sm"), "best")]
        choices += [(gr.Button("Tie", elem_id="vote-tie", size="sm"), "tie"),
                    (gr.Button("Both bad", elem_id="vote-bothbad", size="sm"), "bothbad")]
        withdraw_btn = gr.Button("Withdraw my vote", elem_id="vote-withdraw", size="sm", variant="secondary")
    status = gr.HTML(status_value(ctx, doc), elem_id="vote-status", visible=votable(doc) or arena)
    new_round = gr.Button("New round", elem_id="new-round", size="sm", visible=arena and votable(doc))
    page = view.page
    outs = [view.view_state, *page.components(), view.models]

    def on_session(shown_doc: dict[str, Any] | None) -> dict[Any, Any]:
        # the bar follows the session shown: it appears once a run has answers to vote on
        can = votable(shown_doc)
        return {bar: gr.update(visible=can), status: gr.update(value=status_value(ctx, shown_doc),
                                                               visible=can or arena),
                new_round: gr.update(visible=arena and can)}

    def follow(event: Any) -> None:
        # after each run, replay or regeneration (not on ``page.session.change``: a listener on a
        # component outside ``@gr.render``, added inside it, stopped the page's other listeners on
        # that component from firing — the exports stayed disabled, the diff choices empty)
        event.then(on_session, page.session, [bar, status, new_round], api_visibility="private",
                   show_progress="hidden", queue=False)

    def on_new_round() -> dict[Any, Any]:
        return {view.view_state: v.but(doc=None), page.session: None, page.race: None, page.export_json: None,
                page.export_md: None, page.notice: "New round: the next run starts a new blind session"
                + (" and draws its models from the pool" if v.battle else "")}

    new_round.click(on_new_round, None, [view.view_state, *page.components()], api_visibility="private")

    def shown(doc: dict[str, Any], message: str) -> dict[Any, Any]:
        session = Session.of(doc)
        json_path, md_path = history.write_exports(ctx, session.id)
        out = {view.view_state: v.but(doc=doc), page.session: doc, page.export_json: json_path,
               page.export_md: md_path, page.notice: message,
               page.race: lane_view.race_frame(session.turns[-1].outputs)}
        if blind_runs.is_blind(session) and not blind_runs.arena_on(v):
            # a hidden session opened from History: the picker now says which models these were
            out[view.models] = gr.update(value=session.models())
        return out

    def cleared(values: dict[Any, Any]) -> Iterator[dict[Any, Any]]:
        # the chart keeps its first lanes' colours: clear it before it gets the revealed names
        yield {page.race: None}
        yield values

    for button, outcome in choices:
        def on_vote(doc: dict[str, Any] | None, letter: str | None = None,
                    outcome: str = outcome) -> Iterator[dict[Any, Any]]:
            try:
                updated = blind_runs.cast(ctx, doc, outcome, letter)
            except gr.Error as exc:  # a refused vote is a notice: its outputs (Models, chart) are fine
                yield {page.notice: f"⚠ {exc.message}"}
                return
            yield from cleared(shown(updated, f"vote saved on turn {len(Session.of(updated).turns)}"))

        button.click(on_vote, [page.session] + ([pick] if pick is not None else []), outs,
                     api_visibility="private")

    def on_withdraw(doc: dict[str, Any] | None) -> dict[Any, Any]:
        try:
            updated = blind_runs.withdraw(ctx, doc)
        except gr.Error as exc:
            return {page.notice: f"⚠ {exc.message}"}
        return shown(updated, "vote withdrawn")

    withdraw_btn.click(on_withdraw, page.session, outs, api_visibility="private")

    async def on_judge(doc: dict[str, Any] | None, model: str, rubric: str) -> dict[Any, Any]:
        return await judge(ctx, view, status, doc, model, rubric, True)

    view.judge.run.click(on_judge, [page.session, view.judge.model, view.judge.rubric],
                         [page.session, view.judge.out, status], api_visibility="private")
    return status, follow


def after_run(ctx: Context, event: Any, view: CompareView, status: Any, judging: bool = True) -> None:
    """Once a run ends: the judge votes when "judge every run" is on (``judging``: a Run, not a
    replay or a re-run); the vote status is refreshed."""
    async def then(doc: dict[str, Any] | None, model: str, rubric: str, auto: bool) -> dict[Any, Any]:
        return await judge(ctx, view, status, doc, model, rubric, judging and auto)

    # no progress shown: Gradio dims an output while it updates, and the status line dimmed after
    # every run read at under 4.5:1 contrast (axe caught it at phone size)
    event.then(then, [view.session, view.judge.model, view.judge.rubric, view.judge.auto],
               [view.session, view.judge.out, status], api_visibility="private", show_progress="hidden")


async def judge(ctx: Context, view: CompareView, status: Any, doc: dict[str, Any] | None, model: str | None,
                rubric: str | None, wanted: bool) -> dict[Any, Any]:
    """The session, the judge's output and the vote status: the judge's vote on the last turn, when
    ``wanted``."""
    model = (model or "").strip()
    out = view.judge.out

    def said(message: str | None, shown: dict[str, Any] | None = doc) -> dict[Any, Any]:
        return {status: status_value(ctx, shown)} | ({} if message is None else {out: message})

    session = Session.of(doc) if wanted and doc else None
    if session is None or session.last_turn is None:
        return said(None if not wanted else "run a comparison first")
    if not model:
        return said("enter a judge model id first")
    if len(session.last_turn.counted) < 2:
        return said("a judge needs two or more answers")
    try:
        vote = await judge_turn(ctx.runtime, doc, len(session.turns) - 1, model, rubric or "")
    except (BackendError, ConfigError) as exc:
        return said(f'<div class="lane-error">⚠ {esc(exc)}</div>')
    updated = await asyncio.to_thread(record_vote, ctx.store, doc, vote)
    return {view.session: updated, **said(blind_runs.judge_html(Vote.model_validate(vote)).replace("<details", "<details open", 1), updated)}
