"""The lanes of the Compare view, built by ``@gr.render`` from the list of models (four to a row,
the last row padded so every lane has the same width), and the events that stream into them: Run,
Replay, Re-run and Stop (``cancels=`` the three). Each lane's initial content comes from the session
being shown (its last turn, earlier turns collapsed), so an opened session looks as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import gradio as gr

from playground.engine import figures as figs
from playground.session.history import LaneHistory, lane_histories
from playground.web import actions, blind_runs, lane_view, voting
from playground.web.compare import resend_unchanged
from playground.web.context import Context
from playground.web.escape import toast
from playground.web.frame import Frame
from playground.web.lane_view import engine_of
from playground.web.views import CompareView, LaneOutputs, LaneView
from storage.document import Output, Session

LANES_PER_ROW = 4


def _buttons(view: CompareView, running: bool) -> dict[Any, Any]:
    return {view.run: gr.update(interactive=not running), view.stop: gr.update(interactive=running)}


def blank(value: Any) -> str:
    return "" if value is None else str(value)


def render_lanes(ctx: Context, v: LaneView, view: CompareView) -> None:
    """One column per model, four to a row; the vote bar; then the events that stream into them.
    A blind view (``names``) shows "Model A", … in the headers and nothing that names a model."""
    chosen, names = blind_runs.lane_setup(ctx, v)
    doc = v.doc
    n = len(chosen)
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
    for start in range(0, n, LANES_PER_ROW):
        with gr.Row(elem_classes=["lane-row"]):
            for i in range(start, min(start + LANES_PER_ROW, n)):
                model = chosen[i]
                hist, raw = shown[i]
                out = Output.model_validate(raw) if raw else None
                p = out.params if out else {}
                with gr.Column(scale=1, min_width=160, elem_classes=["lane"]):
                    head = lane_view.header_html(names[i], "") if names else lane_view.header_html(model, engine_of(ctx, model))
                    heads.append(gr.HTML(head, elem_id=f"head-{i}", js_on_load=None))
                    with gr.Accordion("params", open=False, elem_classes=["lane-params"]):
                        per_lane.append([
                            gr.Textbox(blank(p.get("temperature", ctx.settings.defaults.temperature)),
                                       label="temperature", placeholder="default", interactive=True),
                            gr.Number(p.get("max_tokens", ctx.settings.defaults.max_tokens), label="max tokens",
                                      precision=0, interactive=True),
                            gr.Textbox(blank(p.get("seed", ctx.settings.defaults.seed)), label="seed",
                                       placeholder="none", interactive=True)])
                    earlier.append(gr.HTML(lane_view.history_html(hist, session.last_turn.prompt if out and session and session.last_turn else None, not hide,
                                                                  named=names is None),
                                           elem_id=f"earlier-{i}", js_on_load=None))
                    texts.append(gr.HTML(lane_view.answer_html(out.text if out else ""), elem_id=f"lane-{i}",
                                         elem_classes=["lane-answer"], autoscroll=True, js_on_load=None))
                    stats_.append(gr.HTML(lane_view.stats_html(
                        out.model_dump(include={"status", "error", "metrics"}) if out else {},
                        status=out.status if out else "waiting",
                                                          lane=i, best=best, blind=names is not None, hide=hide),
                                          elem_id=f"stats-{i}", js_on_load=None))
            for _ in range(min(n, LANES_PER_ROW) - (min(start + LANES_PER_ROW, n) - start)):
                gr.Column(scale=1, min_width=160)  # keeps a short last row's lanes the same width
    status = voting.vote_bar(ctx, v, n, view)
    _wire(ctx, v, chosen, names, view, LaneOutputs(heads, texts, stats_, earlier, per_lane), status)


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
          lanes: LaneOutputs, status: Any) -> None:
    n = len(chosen)
    arena = names is not None or blind_runs.arena_on(v)  # runs are blind: headers go back to letters
    page = view.page.components()
    # the headers are outputs of a blind Run only; a replay or re-run never writes the earlier turns' heads
    run_lanes = lanes if arena else LaneOutputs([], lanes.texts, lanes.stats, lanes.earlier, lanes.params)
    other_lanes = LaneOutputs([], lanes.texts, lanes.stats, lanes.earlier, lanes.params)
    stop_lanes = LaneOutputs([], lanes.texts, lanes.stats, [], lanes.params)
    run_inputs = [view.prompt, view.system, view.same, view.temperature, view.max_tokens, view.seed, view.session,
                  view.arena.pool, view.repeat, view.warmup, *(c for trio in lanes.params for c in trio)]

    async def on_run(request: gr.Request, *values: Any) -> AsyncIterator[dict[Any, Any]]:
        prompt, system, same, t, m, sd, doc, pool, repeat, warmup, *rest = values
        params = actions.lane_params(same, (t, m, sd), [rest[k:k + 3] for k in range(0, len(rest), 3)])
        if arena:
            models, doc = blind_runs.lineup(ctx, v, doc, n, prompt, (system or "").strip() or None, pool)
            frames = actions.run(ctx, request.session_hash, models, prompt, system, params, doc,
                                 blind=True, hide=v.hide)
        else:
            frames = actions.run(ctx, request.session_hash, chosen, prompt, system, params, doc,
                                 repeat=actions.repeat_of(repeat), warmup=bool(warmup), join_from=v.join_from)
        async with aclosing(_updates(frames, run_lanes, view)) as updates:
            async for update in updates:
                yield update

    def named(doc: Any) -> list[str]:
        if blind_runs.is_hidden(ctx, doc):
            raise toast("vote first: a replay or re-run would show which model is which")
        session = Session.of(doc) if doc else None
        return session.models() if blind_runs.is_blind(session) else chosen

    async def on_replay(doc: Any, speed: str, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        frames = actions.replay(ctx, request.session_hash, named(doc), doc, speed)
        async with aclosing(_updates(frames, other_lanes, view)) as updates:
            async for update in updates:
                yield update

    async def on_rerun(doc: Any, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
        frames = actions.rerun(ctx, request.session_hash, named(doc), doc)
        async with aclosing(_updates(frames, other_lanes, view)) as updates:
            async for update in updates:
                yield update

    async def on_stop(request: gr.Request) -> dict[Any, Any]:
        frame = await actions.stop(ctx, request.session_hash, n)
        return frame.updates(stop_lanes, view.page) | _buttons(view, running=False)

    def outputs(lanes_out: LaneOutputs) -> list[Any]:
        return [*lanes_out.heads, *lanes_out.texts, *lanes_out.stats, *lanes_out.earlier, *page]

    streaming = dict(concurrency_limit=None, show_progress="hidden", api_visibility="private")
    buttons = [view.run, view.stop]
    events = []
    for button, fn, inputs, lanes_out in ((view.run, on_run, run_inputs, run_lanes),
                                          (view.replay, on_replay, [view.session, view.speed], other_lanes),
                                          (view.rerun, on_rerun, [view.session], other_lanes)):
        ev = button.click(lambda: _buttons(view, running=True), None, buttons, queue=False,
                          api_visibility="private").then(fn, inputs, outputs(lanes_out), **streaming)
        ev.then(lambda: _buttons(view, running=False), None, buttons, queue=False, api_visibility="private")
        events.append(ev)
        voting.after_run(ctx, ev, view, status, judging=fn is on_run)
    stopped = view.stop.click(on_stop, None, [*outputs(stop_lanes), *buttons], cancels=events, api_visibility="private",
                              concurrency_limit=None)
    stopped.then(lambda doc: voting.status_value(ctx, doc), view.session, status, api_visibility="private")
