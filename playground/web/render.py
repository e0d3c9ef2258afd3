"""The lanes of the Compare view, built by ``@gr.render`` from the list of models (one row that the
page's CSS wraps by width: up to four a row, one on a phone), and the events that stream into them: Run,
Replay, Re-run and Stop (``cancels=`` the three). Each lane's initial content comes from the session
being shown (its last turn, earlier turns collapsed), so an opened session looks as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import gradio as gr

from playground.engine import figures as figs
from playground.session.history import LaneHistory, lane_histories
from playground.web import (
    actions,
    blind_runs,
    lane_actions,
    lane_params,
    lane_view,
    prob_controls,
    tokens_view,
    voting,
)
from playground.web.compare import resend_unchanged
from playground.web.context import Context
from playground.web.escape import notice
from playground.web.frame import KEEP, Frame
from playground.web.lane_view import engine_of
from playground.web.views import CompareView, LaneOutputs, LaneView
from storage.document import Output, Session


def _buttons(view: CompareView, running: bool, doc: dict[str, Any] | None = None) -> dict[Any, Any]:
    """Run, Stop, Replay and Re-run as they are while something runs, or not (Replay and Re-run
    then only with a session to act on)."""
    has_session = bool(doc and doc.get("turns"))
    return {view.run: gr.update(interactive=not running), view.stop: gr.update(interactive=running),
            view.replay: gr.update(interactive=not running and has_session),
            view.rerun: gr.update(interactive=not running and has_session)}


def blank(value: Any) -> str:
    return "" if value is None else str(value)


def render_lanes(ctx: Context, v: LaneView, view: CompareView) -> None:
    """One column per model (rows by width); the vote bar; then the events that stream into them.
    A blind view (``names``) shows "Model A", … in the headers and nothing that names a model."""
    chosen, names = blind_runs.lane_setup(ctx, v)
    doc = v.shown_doc()
    n = len(chosen)
    # a new mark each time the lanes are drawn: the page script holds a click on Run (or a lane's
    # button) until it changes, since the events of the lanes drawn before are gone (theme.JS)
    gr.HTML(f'<span data-drawn="{uuid.uuid4().hex}"></span>', elem_id="lanes-drawn", js_on_load=None)
    if not n:
        gr.Markdown("Choose at least one model above." if not blind_runs.arena_on(v)
                    else "Choose the models (or the battle pool) above.")
        return
    hide = names is not None and v.hide
    # each lane shows its own model's conversation, found by model (session.history): its answer in
    # the last turn if its model was there, else every turn as what it will be sent (a lane just added)
    shown = [_shown(h) for h in lane_histories(doc, chosen, v.join_from)]
    session = Session.of(doc) if doc else None
    best = figs.best_lanes([out or {} for _, out in shown])
    texts, stats_, earlier, per_lane, heads = [], [], [], [], []
    actions_: list[tuple[Any, Any]] = []  # each lane's Regenerate and Stop buttons
    with gr.Row(elem_classes=["lane-row"]):  # one row; theme.py's CSS wraps it by width
        for i in range(n):
            model = chosen[i]
            hist, raw = shown[i]
            out = Output.model_validate(raw) if raw else None
            p = out.params if out else {}
            asked = session.last_turn.prompt if out and session and session.last_turn else None
            with gr.Column(scale=1, min_width=280, elem_classes=["lane"]):
                head = lane_view.header_html(names[i], "") if names else lane_view.header_html(model, engine_of(ctx, model))
                heads.append(gr.HTML(head, elem_id=f"head-{i}", js_on_load=None))
                with gr.Row(elem_classes=["lane-actions"]):
                    actions_.append((gr.Button("↻ Regenerate", elem_id=f"lane-regen-{i}", size="sm", min_width=0),
                                     gr.Button("■ Stop lane", elem_id=f"lane-stop-{i}", size="sm", min_width=0,
                                               variant="stop")))
                with gr.Accordion("params", open=False, elem_classes=["lane-params"]):
                    per_lane.append(lane_params.boxes(
                        lane_params.shown(v.params.get(model), p, ctx.settings.defaults), i))
                if model:
                    lane_params.remember(view.view_state, model, per_lane[-1])
                earlier.append(gr.HTML(lane_view.history_html(hist, asked, not hide, named=names is None),
                                       elem_id=f"earlier-{i}", js_on_load=None))
                texts.append(gr.HTML(lane_view.answer_html(out.text if out else "", out and tokens_view.probs_of(out)),
                                     elem_id=f"lane-{i}",
                                     elem_classes=["lane-answer"], autoscroll=True, js_on_load=None))
                stats_.append(gr.HTML(lane_view.stats_html(
                    out.model_dump(include={"status", "error", "metrics", "finish_reason", "logprobs", "mode",
                                            "template"},
                                   exclude_none=True) if out else None,
                    status=out.status if out else "waiting", lane=i, best=best, blind=names is not None, hide=hide),
                                      elem_id=f"stats-{i}", js_on_load=None))
    gr.HTML(lane_view.legend_html(), elem_id="fig-legend-box", js_on_load=None)
    status, follow = voting.vote_bar(ctx, v, n, view, names, chosen)
    lanes = LaneOutputs(heads, texts, stats_, earlier, per_lane)
    for event in _wire(ctx, v, chosen, names, view, lanes, status):
        follow(event)
    for event in _wire_lane_buttons(ctx, v, [names[i] if names else chosen[i] for i in range(n)], view, lanes, actions_):
        follow(event)


def _wire_lane_buttons(ctx: Context, v: LaneView, called: list[str], view: CompareView, lanes: LaneOutputs,
                       buttons: list[tuple[Any, Any]]) -> list[Any]:
    """Each lane's Regenerate (streams into that lane alone; lane_actions.regenerate) and Stop lane
    (the other lanes go on)."""
    outs = LaneOutputs([], lanes.texts, lanes.stats, [], lanes.params)
    controls = [view.run, view.stop, view.replay, view.rerun]

    def idle(doc: Any) -> dict[Any, Any]:
        return _buttons(view, running=False, doc=doc)
    page = view.page.components()

    def regen_of(i: int) -> Any:
        async def on_regen(request: gr.Request, doc: Any, same: bool, t: Any, m: Any, sd: Any, on: Any, k: Any,
                           mode: Any, *own: Any) -> AsyncIterator[dict[Any, Any]]:
            settings = lane_params.lane_settings(same, (t, m, sd), [list(own)], [called[i]])[0]
            settings = replace(settings, params=prob_controls.apply([settings.params], on, k, mode)[0])
            frames = lane_actions.regenerate(ctx, request.session_hash, doc, i, settings, hide=v.hide)
            async with aclosing(_updates(frames, outs, view)) as updates:
                async for update in updates:
                    yield update
        return on_regen

    def stop_of(i: int) -> Any:
        def on_stop_lane(request: gr.Request) -> str:
            return lane_actions.stop_lane(ctx, request.session_hash, i, called[i] or f"lane {i + 1}")
        return on_stop_lane

    events = []
    for i, (regen, stop) in enumerate(buttons):
        ev = regen.click(lambda: _buttons(view, running=True), None, controls, queue=False,
                         api_visibility="private").then(
            regen_of(i), [view.session, view.same, view.temperature, view.max_tokens, view.seed,
                          *view.probs.components(), *lanes.params[i]],
            [*lanes.texts, *lanes.stats, *page], concurrency_limit=None, show_progress="hidden",
            api_visibility="private")
        # as the page's Run: the buttons come back on success and on failure (a refused regeneration)
        ev.success(idle, view.session, controls, queue=False, api_visibility="private")
        ev.failure(idle, view.session, controls, queue=False, api_visibility="private")
        # queued like the page's Stop (concurrency_limit=None: never behind the run it stops)
        stop.click(stop_of(i), None, view.page.notice, concurrency_limit=None, api_visibility="private",
                   show_progress="hidden")
        events.append(ev)
    return events


def _shown(history: LaneHistory) -> tuple[LaneHistory, dict[str, Any] | None]:
    """(the earlier turns to show, the answer to show): the last turn's answer when it is the lane's own."""
    last = history.turns[-1] if history.turns else None
    if last is not None and last.source == history.model:
        return replace(history, turns=history.turns[:-1]), last.output
    return history, None


async def _updates(frames: AsyncIterator[Frame], lanes: LaneOutputs, view: CompareView) -> AsyncIterator[dict[Any, Any]]:
    """An action's frames as Gradio's dict returns, unchanged text resent (``compare.resend_unchanged``)."""
    async def mapped() -> AsyncIterator[dict[Any, Any]]:
        async with aclosing(frames):
            async for frame in frames:
                yield frame.updates(lanes, view.page)

    async with aclosing(resend_unchanged(mapped())) as updates:
        async for update in updates:
            yield update


def _wire(ctx: Context, v: LaneView, chosen: list[str], names: list[str] | None, view: CompareView,
          lanes: LaneOutputs, status: Any) -> list[Any]:
    n = len(chosen)
    arena = names is not None or blind_runs.arena_on(v)  # runs are blind: headers go back to letters
    page = view.page.components()
    # the headers are outputs of a blind Run only; a replay or re-run never writes the earlier turns' heads
    run_lanes = lanes if arena else LaneOutputs([], lanes.texts, lanes.stats, lanes.earlier, lanes.params)
    other_lanes = LaneOutputs([], lanes.texts, lanes.stats, lanes.earlier, lanes.params)
    stop_lanes = LaneOutputs([], lanes.texts, lanes.stats, [], lanes.params)
    run_inputs = [view.prompt, view.system, view.same, view.temperature, view.max_tokens, view.seed, view.session,
                  view.arena.pool, view.repeat, view.warmup, *view.probs.components(),
                  *(c for boxes in lanes.params for c in boxes)]

    async def on_run(request: gr.Request, *values: Any) -> AsyncIterator[dict[Any, Any]]:
        prompt, system, same, t, m, sd, doc, pool, repeat, warmup, on, k, mode, *rest = values
        own = lane_params.lane_settings(same, (t, m, sd), lane_params.chunks(rest), names or chosen)
        params = prob_controls.apply([s.params for s in own], on, k, mode)
        systems = [s.system for s in own]
        if arena:
            models, doc = blind_runs.lineup(ctx, v, doc, n, prompt, (system or "").strip() or None, pool)
            frames = actions.run(ctx, request.session_hash, models, prompt, system, params, doc,
                                 blind=blind_runs.runs_blind(ctx, doc), hide=v.hide, systems=systems)
        else:
            frames = actions.run(ctx, request.session_hash, chosen, prompt, system, params, doc,
                                 repeat=actions.repeat_of(repeat), warmup=bool(warmup), join_from=v.join_from,
                                 systems=systems)
        async with aclosing(_updates(frames, run_lanes, view)) as updates:
            async for update in updates:
                yield update

    def named(doc: Any, what: str) -> list[str] | None:
        """The lanes a replay or re-run of ``doc`` shows; None, with a notice that says why, when it cannot
        act (not an error: the page stays as it was)."""
        if not doc or not doc.get("turns"):
            notice(f"nothing to {what} yet: run a comparison or open a session from History first")
            return None
        if blind_runs.is_hidden(ctx, doc):
            notice(f"vote first: a {what} would show which model is which")
            return None
        session = Session.of(doc)
        return session.models() if blind_runs.is_blind(session) else chosen

    async def on_replay(doc: Any, speed: str, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        if (models := named(doc, "replay")) is None:
            return
        if (turn := v.turn_of(doc)) is not None:  # a link's turn is shown: that turn is replayed
            doc = {**doc, "turns": doc["turns"][:turn + 1]}
        frames = actions.replay(ctx, request.session_hash, models, doc, speed)
        async with aclosing(_updates(frames, other_lanes, view)) as updates:
            async for update in updates:
                yield update

    async def on_rerun(doc: Any, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        if (models := named(doc, "re-run")) is None:
            return
        frames = actions.rerun(ctx, request.session_hash, models, doc)
        async with aclosing(_updates(frames, other_lanes, view)) as updates:
            async for update in updates:
                yield update

    async def on_stop(request: gr.Request) -> dict[Any, Any]:
        frame = await actions.stop(ctx, request.session_hash, n)
        buttons_now = _buttons(view, running=False, doc=None if frame.session is KEEP else frame.session)
        if frame.session is KEEP:  # nothing was running: Replay and Re-run stay as they are
            buttons_now = {k: u for k, u in buttons_now.items() if k in (view.run, view.stop)}
        return frame.updates(stop_lanes, view.page) | buttons_now

    def outputs(lanes_out: LaneOutputs) -> list[Any]:
        return [*lanes_out.heads, *lanes_out.texts, *lanes_out.stats, *lanes_out.earlier, *page]

    streaming = dict(concurrency_limit=None, show_progress="hidden", api_visibility="private")
    buttons = [view.run, view.stop, view.replay, view.rerun]
    quick = dict(queue=False, api_visibility="private")

    def idle(doc: Any) -> dict[Any, Any]:
        return _buttons(view, running=False, doc=doc)

    events = []
    for button, fn, inputs, lanes_out in ((view.run, on_run, run_inputs, run_lanes),
                                          (view.replay, on_replay, [view.session, view.speed], other_lanes),
                                          (view.rerun, on_rerun, [view.session], other_lanes)):
        ev = button.click(lambda: _buttons(view, running=True), None, buttons, **quick).then(
            fn, inputs, outputs(lanes_out), **streaming)
        # the buttons come back whichever way the action ends: Gradio 6.31's page runs a ``.then``
        # step only after a success, so a refused action (a raised gr.Error) needs ``.failure``
        ev.success(idle, view.session, buttons, **quick)
        ev.failure(idle, view.session, buttons, **quick)
        events.append(ev)
        voting.after_run(ctx, ev, view, status, judging=fn is on_run)
    stopped = view.stop.click(on_stop, None, [*outputs(stop_lanes), *buttons], cancels=events,
                              api_visibility="private", concurrency_limit=None)
    stopped.then(lambda doc: voting.status_value(ctx, doc), view.session, status, api_visibility="private")
    return [*events, stopped]
