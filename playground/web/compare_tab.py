"""The Compare tab: its layout (``build``) and the events that do not stream — the model picker,
"same params", New session, Diff. The lanes are built by ``render`` from the view state, and the
streaming events (Run, Stop, Replay, Re-run, the votes) are wired there, where the lanes are.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.arena.blind import blind_names
from playground.engine import discovery
from playground.session.history import FRESH
from playground.web import actions, arena_ui, blind_runs, lane_view, prob_controls
from playground.web.context import Context
from playground.web.diff import word_diff_html
from playground.web.escape import md
from playground.web.render import blank, render_lanes
from playground.web.theme import SAME_TOGGLE
from playground.web.views import CompareView, LaneView, PageOutputs
from storage.document import Session

NO_JOIN = ("none (the earlier prompts only)", "")
START_FRESH = ("nothing: it starts fresh (no earlier turns)", FRESH)
# the view changed: the lanes will be drawn again; clicks on them wait for it (theme.JS)
LANES_PENDING = "() => { window.__lanesPending && window.__lanesPending(30000, true); }"


def build(ctx: Context, chosen: list[str], choices: list[str]) -> CompareView:
    """The tab's components inside ``gr.Blocks`` (its events wired); returns them by name."""
    d = ctx.settings.defaults
    with gr.Tab("Compare", id="compare"):
        view_state = gr.State(arena_ui.initial_view(chosen))
        session = gr.State(None)
        with gr.Row(equal_height=True):
            # no max_choices: Gradio would silently refuse a 9th model; on_models says so instead
            models = gr.Dropdown(choices=sorted(set(choices + chosen)), value=chosen, multiselect=True,
                                 allow_custom_value=True, scale=5, min_width=300,
                                 label="Models (pick, or type provider:model and press Enter)", elem_id="models")
            refresh = gr.Button("↻ refresh list", elem_id="refresh-models", size="sm", scale=0, min_width=90)
            same = gr.Checkbox(value=True, label="same params for all", scale=1, elem_id="same-params",
                               interactive=True)
            # shown once a session has turns: what a model added to it is sent for the turns it missed
            join_from = gr.Dropdown(choices=[NO_JOIN], value="", label="new models see answers of", scale=2,
                                    visible=False, interactive=True, elem_id="join-from")
        models_note = gr.Markdown("", elem_id="models-note", latex_delimiters=[])
        arena = arena_ui.controls(sorted(choices))
        # a long prompt scrolls inside its box (max_lines, and theme.py's max-height), so Run stays in view
        prompt = gr.Textbox(label="Prompt", show_label=False, lines=2, max_lines=6, elem_id="prompt", autofocus=True,
                            interactive=True, placeholder="Ask every model at once… (Ctrl/Cmd+Enter runs)")
        # one row that wraps by width: the buttons, then the sampling parameters (theme.py: .controls)
        with gr.Row(equal_height=True, elem_classes=["controls"]):
            # the shortcut's glyph after "Run" is the platform's own (theme.py: #run::after)
            run_btn = gr.Button("Run", variant="primary", elem_id="run", scale=0, min_width=140)
            stop_btn = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop", scale=0, min_width=90)
            new_btn = gr.Button("New session", elem_id="new-session", scale=0, min_width=120)
            temp = gr.Textbox(blank(d.temperature), label="temperature", placeholder="default",
                              scale=1, min_width=100, interactive=True, elem_id="temperature")
            max_tokens = gr.Number(d.max_tokens, label="max tokens", precision=0, minimum=1, scale=1, min_width=100,
                                   interactive=True, elem_id="max-tokens")
            seed = gr.Textbox(blank(d.seed), label="seed", placeholder="none", scale=1, min_width=100,
                              interactive=True, elem_id="seed")
            repeat = gr.Number(1, label="repeat", precision=0, minimum=1, maximum=50, scale=1, min_width=100,
                               interactive=True, elem_id="repeat")
            warmup = gr.Checkbox(False, label="uncounted warm-up run first", scale=1, min_width=150,
                                 interactive=True, elem_id="warmup")
            probs = prob_controls.build()
            with gr.Column(scale=2, min_width=200), gr.Accordion("System prompt", open=False, elem_id="system-box"):
                system = gr.Textbox(label="System prompt", show_label=False, lines=2, max_lines=6,
                                    placeholder="optional system prompt", elem_id="system", interactive=True)
        notice = gr.Markdown("", elem_id="notice", latex_delimiters=[])  # text, never math

        view_state.change(None, None, None, js=LANES_PENDING)  # outside the render: see render.py

        @gr.render(inputs=[view_state])
        def lanes(v: LaneView) -> None:
            render_lanes(ctx, v, view)  # runs when the page loads: ``view`` is made below by then

        # never None once on the page: Gradio 6.31's plot leaves a ResizeObserver behind that reads the
        # removed chart's width when its value goes to None ("Cannot read properties of null")
        race = gr.LinePlot(lane_view.race_frame([]), x="seconds", y="characters", color="lane", height=220,
                           elem_id="race", label="The race: characters streamed over time, from each lane's start")
        with gr.Row(elem_classes=["toolbar"]):
            # disabled until there is a session to act on (``ready`` below; render.py during a run)
            export_json = gr.DownloadButton("Export JSON", elem_id="export-json", value=None, size="sm",
                                            interactive=False)
            export_md = gr.DownloadButton("Export Markdown", elem_id="export-md", value=None, size="sm",
                                          interactive=False)
            export_html = gr.DownloadButton("Export HTML", elem_id="export-html", value=None, size="sm",
                                            interactive=False)
            speed = gr.Radio(list(actions.SPEEDS), value="2×", show_label=False, elem_id="speed",
                             interactive=True, scale=2, container=False)
            replay_btn = gr.Button("Replay", elem_id="replay", size="sm", interactive=False)
            rerun_btn = gr.Button("Re-run", elem_id="rerun", size="sm", interactive=False)
        with gr.Accordion("Diff two answers", open=False):
            with gr.Row():
                diff_a = gr.Dropdown(label="from", choices=[], elem_id="diff-a")
                diff_b = gr.Dropdown(label="to", choices=[], elem_id="diff-b")
                diff_btn = gr.Button("Diff", elem_id="diff")
            diff_out = gr.HTML(elem_id="diff-out")
        judge = arena_ui.judge_panel()
    view = CompareView(
        view_state=view_state, page=PageOutputs(session, race, export_json, export_md, notice), models=models,
        same=same, system=system, prompt=prompt, run=run_btn, stop=stop_btn, new=new_btn, temperature=temp,
        max_tokens=max_tokens, seed=seed, repeat=repeat, warmup=warmup, export_html=export_html, speed=speed,
        replay=replay_btn, rerun=rerun_btn, diff_a=diff_a, diff_b=diff_b, diff_run=diff_btn, diff_out=diff_out,
        arena=arena, judge=judge, join_from=join_from, refresh=refresh, models_note=models_note, probs=probs)
    _wire(ctx, view)
    prob_controls.wire(probs, session)
    return view


async def picker_choices(ctx: Context, view: CompareView, picked: list[str] | None, pool: list[str] | None,
                         refresh: bool = False) -> dict[Any, Any]:
    """The picker's and the battle pool's choices from what the providers serve (``discovery.catalog``:
    kept a while, asked again on ``refresh``), the ids already chosen kept; a notice per provider
    whose list could not be had."""
    found = await discovery.catalog(ctx.runtime, refresh=refresh)
    failed = [m.why for m in found.failures]
    note = ("⚠ " + md("; ".join(failed)) + " — its models can still be typed") if failed else ""
    return {view.models: gr.update(choices=sorted(set(found.ids + list(picked or [])))),
            view.arena.pool: gr.update(choices=sorted(set(found.ids + list(pool or [])))),
            view.models_note: note}


def _wire(ctx: Context, view: CompareView) -> None:
    """The picker, "same params", New session and Diff."""
    page = view.page
    arena_ui.wire(view.arena, view.models, view.view_state, page.session)

    def on_models(chosen: list[str], doc: dict[str, Any] | None, v: LaneView) -> Any:
        chosen = list(chosen or [])
        out: dict[Any, Any] = {}
        if len(chosen) > actions.MAX_LANES:  # said, not silently dropped
            left = chosen[actions.MAX_LANES:]
            chosen = chosen[:actions.MAX_LANES]
            out = {view.models: chosen, view.models_note: f"at most {actions.MAX_LANES} models at once: "
                   f"{md(', '.join(left))} left out — remove one first"}
        if chosen == v.models:
            return out or gr.skip()
        if blind_runs.arena_on(v):  # a blind session's lanes are fixed: the next run starts a new one
            return out | {view.view_state: v.but(models=chosen, doc=None), page.session: None}
        return out | {view.view_state: v.but(models=chosen, doc=doc)}

    view.models.change(on_models, [view.models, page.session, view.view_state],
                       [view.view_state, page.session, view.models, view.models_note], api_visibility="private")

    async def on_refresh(picked: list[str], pool: list[str]) -> dict[Any, Any]:
        return await picker_choices(ctx, view, picked, pool, refresh=True)

    view.refresh.click(on_refresh, [view.models, view.arena.pool], [view.models, view.arena.pool, view.models_note],
                       api_visibility="private", concurrency_limit=None, show_progress="minimal")
    view.same.change(None, view.same, None, js=SAME_TOGGLE)
    shared = [view.temperature, view.max_tokens, view.seed]

    def on_same(same: bool) -> list[Any]:
        # off: each lane's own boxes count, so the shared ones are greyed out rather than ignored
        return [gr.update(interactive=bool(same))] * len(shared)

    view.same.change(on_same, view.same, shared, queue=False, api_visibility="private", show_progress="hidden")

    def join_choices(doc: dict[str, Any] | None, v: LaneView) -> dict[Any, Any]:
        """The models of the session shown (none for a blind one: the names may be hidden)."""
        session = Session.of(doc) if doc else None
        known = [] if session is None or blind_runs.is_blind(session) else list(dict.fromkeys(session.models()))
        return {view.join_from: gr.update(choices=[NO_JOIN, START_FRESH, *((m, m) for m in known)],
                                          visible=bool(known),
                                          value=v.join_from if v.join_from in [*known, FRESH] else "")}

    page.session.change(join_choices, [page.session, view.view_state], view.join_from, api_visibility="private")

    def on_join(value: str | None, doc: dict[str, Any] | None, v: LaneView) -> Any:
        # in the view state (with the session shown), so the lanes show now what a new model will be sent
        if (value or None) == v.join_from:
            return gr.skip()
        return {view.view_state: v.but(join_from=value or None, doc=doc)}

    view.join_from.change(on_join, [view.join_from, page.session, view.view_state], view.view_state,
                          api_visibility="private")

    def on_new(chosen: list[str], v: LaneView) -> dict[Any, Any]:
        return {view.view_state: v.but(models=list(chosen or []), doc=None), view.prompt: "",
                page.session: None, page.race: lane_view.race_frame([]), page.export_json: None, page.export_md: None,
                page.notice: "new session"}

    view.new.click(on_new, [view.models, view.view_state], [view.view_state, view.prompt, *page.components()],
                   api_visibility="private")

    def diff_choices(doc: dict[str, Any] | None) -> dict[Any, Any]:
        names = list(answers(ctx, doc))
        return {view.diff_a: gr.update(choices=names, value=names[0] if names else None),
                view.diff_b: gr.update(choices=names, value=names[1] if len(names) > 1 else None)}

    page.session.change(diff_choices, page.session, [view.diff_a, view.diff_b], api_visibility="private")

    def ready(doc: dict[str, Any] | None) -> dict[Any, Any]:
        """Replay, Re-run and the exports act on a session: enabled once there is one (the exports
        not while a blind session hides its models)."""
        shown = bool(doc and doc.get("turns"))
        exportable = shown and not blind_runs.is_hidden(ctx, doc)
        return {view.replay: gr.update(interactive=shown), view.rerun: gr.update(interactive=shown),
                **{b: gr.update(interactive=exportable) for b in (page.export_json, page.export_md, view.export_html)}}

    page.session.change(ready, page.session, [view.replay, view.rerun, page.export_json, page.export_md,
                                              view.export_html], queue=False, api_visibility="private")

    def on_diff(doc: dict[str, Any] | None, a: str | None, b: str | None) -> str:
        found = answers(ctx, doc)
        if a not in found or b not in found:
            return "choose two answers"
        return word_diff_html(found[a], found[b])

    view.diff_run.click(on_diff, [page.session, view.diff_a, view.diff_b], view.diff_out, api_visibility="private")


def answers(ctx: Context, doc: dict[str, Any] | None) -> dict[str, str]:
    """The answers a diff can compare: each lane of the last turn, and, for a re-run, its source's."""
    session = Session.of(doc) if doc else None
    if session is None or session.last_turn is None:
        return {}
    last = session.last_turn.outputs
    names = blind_names(len(last)) if blind_runs.is_hidden(ctx, doc) else [o.model for o in last]
    out = {f"lane {i + 1}: {names[i]}": o.text for i, o in enumerate(last)}
    if session.rerun_of:
        try:
            src = Session.of(ctx.store.get_session(session.rerun_of)).turns[-1]
            out |= {f"original {i + 1}: {o.model}": o.text for i, o in enumerate(src.outputs)}
        except Exception:  # noqa: BLE001 - the source may have been deleted
            pass
    return out
