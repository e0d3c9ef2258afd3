"""The Compare tab: its layout (``build``) and the events that do not stream — the model picker,
"same params", New session, Diff. The lanes are built by ``render`` from the view state, and the
streaming events (Run, Stop, Replay, Re-run, the votes) are wired there, where the lanes are.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.arena.blind import blind_names
from playground.web import actions, arena_ui, blind_runs
from playground.web.context import Context
from playground.web.diff import word_diff_html
from playground.web.render import blank, render_lanes
from playground.web.theme import SAME_TOGGLE
from playground.web.views import CompareView, LaneView, PageOutputs


def build(ctx: Context, chosen: list[str], choices: list[str]) -> CompareView:
    """The tab's components inside ``gr.Blocks`` (its events wired); returns them by name."""
    d = ctx.settings.defaults
    with gr.Tab("Compare", id="compare"):
        view_state = gr.State(arena_ui.initial_view(chosen))
        session = gr.State(None)
        with gr.Row():
            models = gr.Dropdown(choices=sorted(set(choices + chosen)), value=chosen, multiselect=True,
                                 allow_custom_value=True, max_choices=actions.MAX_LANES, scale=5,
                                 label="Models (pick, or type provider:model and press Enter)", elem_id="models")
            same = gr.Checkbox(value=True, label="same params for all", scale=1, elem_id="same-params",
                               interactive=True)
        arena = arena_ui.controls(sorted(choices))
        with gr.Accordion("System prompt", open=False):
            system = gr.Textbox(show_label=False, lines=2, placeholder="optional system prompt",
                                elem_id="system", interactive=True)
        prompt = gr.Textbox(show_label=False, lines=3, elem_id="prompt", autofocus=True, interactive=True,
                            placeholder="Ask every model at once… (Ctrl/Cmd+Enter runs)")
        with gr.Row(equal_height=True):
            run_btn = gr.Button("Run ⌘↵", variant="primary", elem_id="run", scale=1)
            stop_btn = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop", scale=1)
            new_btn = gr.Button("New session", elem_id="new-session", scale=1)
            temp = gr.Textbox(blank(d.temperature), label="temperature", placeholder="default",
                              scale=1, interactive=True, elem_id="temperature")
            max_tokens = gr.Number(d.max_tokens, label="max tokens", precision=0, minimum=1, scale=1,
                                   interactive=True)
            seed = gr.Textbox(blank(d.seed), label="seed", placeholder="none", scale=1,
                              interactive=True, elem_id="seed")
            repeat = gr.Number(1, label="repeat", precision=0, minimum=1, maximum=50, scale=1,
                               interactive=True, elem_id="repeat")
            warmup = gr.Checkbox(False, label="uncounted warm-up run first", scale=1,
                                 interactive=True, elem_id="warmup")
        notice = gr.Markdown("", elem_id="notice", latex_delimiters=[])  # text, never math

        @gr.render(inputs=[view_state])
        def lanes(v: LaneView) -> None:
            render_lanes(ctx, v, view)  # runs when the page loads: ``view`` is made below by then

        race = gr.LinePlot(x="seconds", y="characters", color="lane", height=220, elem_id="race",
                           label="The race: characters streamed over time, from each lane's start")
        with gr.Row(elem_classes=["toolbar"]):
            export_json = gr.DownloadButton("Export JSON", elem_id="export-json", value=None, size="sm")
            export_md = gr.DownloadButton("Export Markdown", elem_id="export-md", value=None, size="sm")
            export_html = gr.DownloadButton("Export HTML", elem_id="export-html", value=None, size="sm")
            speed = gr.Radio(list(actions.SPEEDS), value="2×", show_label=False, elem_id="speed",
                             interactive=True, scale=2, container=False)
            replay_btn = gr.Button("Replay", elem_id="replay", size="sm")
            rerun_btn = gr.Button("Re-run", elem_id="rerun", size="sm")
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
        arena=arena, judge=judge)
    _wire(ctx, view)
    return view


def _wire(ctx: Context, view: CompareView) -> None:
    """The picker, "same params", New session and Diff."""
    page = view.page
    arena_ui.wire(view.arena, view.models, view.view_state, page.session)

    def on_models(chosen: list[str], doc: dict[str, Any] | None, v: LaneView) -> Any:
        chosen = list(chosen or [])[:actions.MAX_LANES]
        if chosen == v.models:
            return gr.skip()
        if blind_runs.arena_on(v):  # a blind session's lanes are fixed: the next run starts a new one
            return {view.view_state: v.but(models=chosen, doc=None), page.session: None}
        return {view.view_state: v.but(models=chosen, doc=doc)}

    view.models.change(on_models, [view.models, page.session, view.view_state], [view.view_state, page.session],
                       api_visibility="private")
    view.same.change(None, view.same, None, js=SAME_TOGGLE)
    shared = [view.temperature, view.max_tokens, view.seed]

    def on_same(same: bool) -> list[Any]:
        # off: each lane's own boxes count, so the shared ones are greyed out rather than ignored
        return [gr.update(interactive=bool(same))] * len(shared)

    view.same.change(on_same, view.same, shared, queue=False, api_visibility="private", show_progress="hidden")

    def on_new(chosen: list[str], v: LaneView) -> dict[Any, Any]:
        return {view.view_state: v.but(models=list(chosen or []), doc=None), view.prompt: "",
                page.session: None, page.race: None, page.export_json: None, page.export_md: None,
                page.notice: "new session"}

    view.new.click(on_new, [view.models, view.view_state], [view.view_state, view.prompt, *page.components()],
                   api_visibility="private")

    def diff_choices(doc: dict[str, Any] | None) -> dict[Any, Any]:
        names = list(answers(ctx, doc))
        return {view.diff_a: gr.update(choices=names, value=names[0] if names else None),
                view.diff_b: gr.update(choices=names, value=names[1] if len(names) > 1 else None)}

    page.session.change(diff_choices, page.session, [view.diff_a, view.diff_b], api_visibility="private")

    def on_diff(doc: dict[str, Any] | None, a: str | None, b: str | None) -> str:
        found = answers(ctx, doc)
        if a not in found or b not in found:
            return "choose two answers"
        return word_diff_html(found[a], found[b])

    view.diff_run.click(on_diff, [page.session, view.diff_a, view.diff_b], view.diff_out, api_visibility="private")


def answers(ctx: Context, doc: dict[str, Any] | None) -> dict[str, str]:
    """The answers a diff can compare: each lane of the last turn, and, for a re-run, its source's."""
    if not doc or not doc.get("turns"):
        return {}
    last = doc["turns"][-1]["outputs"]
    names = blind_names(len(last)) if blind_runs.is_hidden(ctx, doc) else [o["model"] for o in last]
    out = {f"lane {i + 1}: {names[i]}": o["text"] for i, o in enumerate(last)}
    if doc.get("rerun_of"):
        try:
            src = ctx.store.get_session(doc["rerun_of"])
            out |= {f"original {i + 1}: {o['model']}": o["text"] for i, o in enumerate(src["turns"][-1]["outputs"])}
        except Exception:  # noqa: BLE001 - the source may have been deleted
            pass
    return out
