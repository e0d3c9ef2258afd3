"""The lanes of the Compare view, built by ``@gr.render`` from the list of models (four to a row,
the last row padded so every lane has the same width), and the events that stream into them: Run,
Replay, Re-run and Stop (``cancels=`` the three). Each lane's initial content comes from the session
being shown (its last turn, earlier turns collapsed), so an opened session looks as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import gradio as gr

from playground.engine import figures as figs
from playground.web import actions, blind_runs, lane_view, voting
from playground.web.context import Context
from playground.web.escape import toast
from playground.web.lane_view import engine_of

LANES_PER_ROW = 4


def _unlock() -> tuple[Any, Any]:
    return gr.update(interactive=True), gr.update(interactive=False)


def _lock() -> tuple[Any, Any]:
    return gr.update(interactive=False), gr.update(interactive=True)


def blank(value: Any) -> str:
    return "" if value is None else str(value)


def render_lanes(ctx: Context, v: dict[str, Any], slots: dict[str, Any]) -> None:
    """One column per model, four to a row; the vote bar; then the events that stream into them.
    A blind view (``names``) shows "Model A", … in the headers and nothing that names a model."""
    chosen, names = blind_runs.lane_setup(ctx, v)
    doc = v.get("doc")
    n = len(chosen)
    if not n:
        gr.Markdown("Choose at least one model above." if not blind_runs.arena_on(v)
                    else "Choose the models (or the battle pool) above.")
        return
    last = doc["turns"][-1]["outputs"] if doc and doc.get("turns") else []
    best = figs.best_lanes(last)
    hide = names is not None and bool(v.get("hide", True))
    texts, stats_, earlier, per_lane, heads = [], [], [], [], []
    for start in range(0, n, LANES_PER_ROW):
        with gr.Row(elem_classes=["lane-row"]):
            for i in range(start, min(start + LANES_PER_ROW, n)):
                model = chosen[i]
                hist = lane_view.lane_history(doc, i, model) if model else []
                out = hist[-1][1] if hist else None
                p = (out or {}).get("params") or {}
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
                    earlier.append(gr.HTML(lane_view.earlier_html(hist[:-1], hist[-1][0] if hist else None, not hide),
                                           elem_id=f"earlier-{i}", js_on_load=None))
                    texts.append(gr.HTML(lane_view.answer_html(out["text"] if out else ""), elem_id=f"lane-{i}",
                                         elem_classes=["lane-answer"], autoscroll=True, js_on_load=None))
                    stats_.append(gr.HTML(lane_view.stats_html(out or {}, status=out["status"] if out else "waiting",
                                                          lane=i, best=best, blind=names is not None, hide=hide),
                                          elem_id=f"stats-{i}", js_on_load=None))
            for _ in range(min(n, LANES_PER_ROW) - (min(start + LANES_PER_ROW, n) - start)):
                gr.Column(scale=1, min_width=160)  # keeps a short last row's lanes the same width
    status = voting.vote_bar(ctx, v, n, slots)
    _wire(ctx, v, chosen, names, slots, (texts, stats_, earlier, per_lane, heads), status)


def _wire(ctx: Context, v: dict[str, Any], chosen: list[str], names: list[str] | None, s: dict[str, Any],
          lanes: tuple[list[Any], ...], status: Any) -> None:
    texts, stats_, earlier, per_lane, heads = lanes
    n = len(chosen)
    arena = names is not None or blind_runs.arena_on(v)  # runs are blind: headers go back to letters
    outs = (heads if arena else []) + texts + stats_ + earlier + s["extra"]
    buttons = [s["run"], s["stop"]]
    flat = [c for trio in per_lane for c in trio]
    run_inputs = [s["prompt"], s["system"], s["same"], *s["shared"], s["session"], s["pool"], *s["repeat"],
                  *flat]

    async def on_run(request: gr.Request, *values: Any) -> AsyncIterator[list[Any]]:
        prompt, system, same, t, m, sd, doc, pool, repeat, warmup, *rest = values
        params = actions.lane_params(same, (t, m, sd), [rest[k:k + 3] for k in range(0, len(rest), 3)])
        if not arena:
            named_run = actions.run(ctx, request.session_hash, chosen, prompt, system, params, doc,
                                    repeat=actions.repeat_of(repeat), warmup=bool(warmup))
            async with aclosing(named_run) as frames:
                async for frame in frames:
                    yield frame
            return
        models, doc = blind_runs.lineup(ctx, v, doc, n, prompt, (system or "").strip() or None, pool)
        letters = [lane_view.header_html(name, "") for name in blind_runs.blind_names(n)]
        blind_run = actions.run(ctx, request.session_hash, models, prompt, system, params, doc,
                                blind=True, hide=bool(v.get("hide", True)))
        async with aclosing(blind_run) as frames:
            async for frame in frames:
                yield letters + frame  # the same letters every frame: cheaper for Gradio than gr.skip()

    def named(doc: Any) -> list[str]:
        if blind_runs.is_hidden(ctx, doc):
            raise toast("vote first: a replay or re-run would show which model is which")
        return blind_runs.session_models(doc) if blind_runs.is_blind(doc) else chosen

    async def on_replay(doc: Any, speed: str, request: gr.Request) -> AsyncIterator[list[Any]]:
        async with aclosing(actions.replay(ctx, request.session_hash, named(doc), doc, speed)) as frames:
            async for frame in frames:
                yield frame

    async def on_rerun(doc: Any, request: gr.Request) -> AsyncIterator[list[Any]]:
        async with aclosing(actions.rerun(ctx, request.session_hash, named(doc), doc)) as frames:
            async for frame in frames:
                yield frame

    async def on_stop(request: gr.Request) -> list[Any]:
        return await actions.stop(ctx, request.session_hash, n)

    streaming = dict(concurrency_limit=None, show_progress="hidden", api_visibility="private")
    events = []
    for button, fn, inputs in ((s["run"], on_run, run_inputs), (s["replay"], on_replay, [s["session"], s["speed"]]),
                               (s["rerun"], on_rerun, [s["session"]])):
        lane_outs = outs if fn is on_run else texts + stats_ + earlier + s["extra"]
        ev = button.click(_lock, None, buttons, queue=False, api_visibility="private").then(
            fn, inputs, lane_outs, **streaming)
        ev.then(_unlock, None, buttons, queue=False, api_visibility="private")
        events.append(ev)
        voting.after_run(ctx, ev, s, status, judging=fn is on_run)
    stopped = s["stop"].click(on_stop, None, texts + stats_ + s["extra"] + buttons, cancels=events,
                              api_visibility="private", concurrency_limit=None)
    stopped.then(lambda doc: voting.status_value(ctx, doc), s["session"], status, api_visibility="private")
