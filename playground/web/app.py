"""The page's layout and wiring: ``build_app(ctx)`` returns the Blocks; handlers call into
``actions``/``history``/``stats``/``settings_tab``. Lanes are built from the list of models by
``@gr.render`` (1 to 8, four to a row), and the events that write to them are wired there.

Queue: the streaming events (run, replay, re-run) have no concurrency limit — they are async and
wait on the network or on the runtime's CPU turns, so one user's run never queues another's; the
local engines serialise themselves (``CpuBudget``). Other handlers share the default limit.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from playground.arena.blind import blind_names
from playground.engine import discovery
from playground.session.document import session_models
from playground.web import (
    actions,
    arena_tab,
    arena_ui,
    blind_runs,
    history,
    lane_view,
    public_api,
    settings_tab,
    stats,
)
from playground.web.context import Context
from playground.web.diff import word_diff_html
from playground.web.escape import esc, md
from playground.web.limits import BodyLimit
from playground.web.render import blank, render_lanes
from playground.web.theme import CSS, JS, SAME_TOGGLE

DEFAULT_MODELS = ["gguf:smollm2", "hf:smollm2"]


def launch_options(ctx: Context) -> dict[str, Any]:
    """What ``demo.launch()`` needs besides host and port (Gradio 6: css/js/theme go here).
    ``show_error`` off: Gradio renders a toast's message as HTML, and an unexpected exception's text
    may quote a title, a prompt or a provider's answer; only the page's own messages, escaped
    (``escape.toast``), reach a toast; anything else is logged by the server, its text never shown."""
    ctx.exports.mkdir(parents=True, exist_ok=True)
    limit = ctx.settings.limits.upload_bytes  # a file, and any request body (see web/limits.py)
    return {"css": CSS, "js": JS, "theme": gr.themes.Soft(), "run_history": False,
            "footer_links": ["api"], "allowed_paths": [str(ctx.exports)], "show_error": False,
            "max_file_size": limit,
            "app_kwargs": {"middleware": [Middleware(BodyLimit, max_bytes=limit)]}}


def build_app(ctx: Context, default_models: list[str] | None = None) -> gr.Blocks:
    local = discovery.embedded(ctx.runtime) + discovery.configured(ctx.runtime) + discovery.gguf_files(ctx.runtime)
    choices = discovery.usable_ids(local)
    chosen = list(default_models or DEFAULT_MODELS)
    d = ctx.settings.defaults
    with gr.Blocks(title="Playground") as demo:
        view_state = gr.State(arena_ui.initial_view(chosen))
        session = gr.State(None)
        history_ids = gr.State([])
        selected = gr.State(None)
        with gr.Row():
            gr.HTML('<span id="page-title">Playground</span>')
            gr.HTML(f'<div class="notes" style="text-align:right">db: '
                    f'{esc(settings_tab.database_url(ctx))}</div>')
        with gr.Tabs(selected="compare") as tabs:
            with gr.Tab("Compare", id="compare"):
                with gr.Row():
                    models = gr.Dropdown(choices=sorted(set(choices + chosen)), value=chosen, multiselect=True,
                                         allow_custom_value=True, max_choices=actions.MAX_LANES, scale=5,
                                         label="Models (pick, or type provider:model and press Enter)",
                                         elem_id="models")
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
                lane_slots: dict[str, Any] = {}

                @gr.render(inputs=[view_state])
                def lanes(v: dict[str, Any]) -> None:
                    render_lanes(ctx, v, lane_slots)

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
            with gr.Tab("History", id="history-tab") as history_tab:
                with gr.Row():
                    search = gr.Textbox(label="search prompts and answers", elem_id="history-search", scale=3)
                    model_filter = gr.Dropdown(label="model", choices=[], allow_custom_value=True, scale=1)
                history_df = gr.Dataframe(headers=history.COLUMNS, interactive=False, wrap=True,
                                          elem_id="history", label="Saved sessions, newest first (click to open)")
                with gr.Row():
                    import_btn = gr.UploadButton("Import JSON or HTML", file_types=[".json", ".html"],
                                                 elem_id="import-json")
                    history_html = gr.DownloadButton("Export HTML", elem_id="history-export-html", value=None)
                    delete_btn = gr.Button("Delete selected", variant="stop", elem_id="delete")
                history_msg = gr.Markdown("", elem_id="history-msg", latex_delimiters=[])
            arena_tab.build(ctx)
            with gr.Tab("Stats", id="stats-tab") as stats_tab:
                stats_table = gr.Dataframe(headers=stats.TABLE, interactive=False, elem_id="stats-table")
                stats_plot = gr.ScatterPlot(x="ttft_ms", y="tokens_per_s", color="model", elem_id="stats-plot",
                                            label="one point per run: TTFT (ms) against tokens/s")
            with gr.Tab("Settings", id="settings-tab") as settings_tab_:
                status = gr.HTML(elem_id="status")
                loaded = gr.Dataframe(headers=settings_tab.LOADED, interactive=False, label="loaded local models",
                                      elem_id="loaded-models")
                with gr.Row():
                    unload_which = gr.Dropdown(label="model", choices=[], elem_id="unload-which")
                    unload_btn = gr.Button("Unload", elem_id="unload")
                unload_msg = gr.Markdown("", latex_delimiters=[])

        lane_slots.update(prompt=prompt, system=system, same=same, shared=[temp, max_tokens, seed],
                          repeat=[repeat, warmup],
                          session=session, run=run_btn, stop=stop_btn, replay=replay_btn, rerun=rerun_btn,
                          speed=speed, extra=[session, race, export_json, export_md, notice],
                          view=view_state, race=race, export_json=export_json, export_md=export_md, notice=notice,
                          models=models, judge_model=judge.model, judge_rubric=judge.rubric, judge_run=judge.run,
                          judge_auto=judge.auto, judge_out=judge.out, pool=arena.pool)
        arena_ui.wire(arena, models, view_state, session)

        # ---- compare: models, new session, diff ---------------------------------------------
        def on_models(chosen: list[str], doc: dict[str, Any] | None, v: dict[str, Any]) -> Any:
            chosen = list(chosen or [])[:actions.MAX_LANES]
            if chosen == v["models"]:
                return gr.skip(), gr.skip()
            if blind_runs.arena_on(v):  # a blind session's lanes are fixed: the next run starts a new one
                return {**v, "models": chosen, "doc": None}, None
            return {**v, "models": chosen, "doc": doc}, gr.skip()

        models.change(on_models, [models, session, view_state], [view_state, session], api_visibility="private")
        same.change(None, same, None, js=SAME_TOGGLE)

        def on_new(chosen: list[str], v: dict[str, Any]) -> list[Any]:
            return [{**v, "models": list(chosen or []), "doc": None}, None, "", None, None, None, "new session"]

        new_btn.click(on_new, [models, view_state], [view_state, session, prompt, race, export_json, export_md, notice],
                      api_visibility="private")

        def diff_choices(doc: dict[str, Any] | None) -> tuple[Any, Any]:
            names = list(_answers(ctx, doc))
            return (gr.update(choices=names, value=names[0] if names else None),
                    gr.update(choices=names, value=names[1] if len(names) > 1 else None))

        session.change(diff_choices, session, [diff_a, diff_b], api_visibility="private")

        def on_session_html(doc: dict[str, Any] | None) -> list[Any]:
            path = history.write_html(ctx, doc)  # every change of the session shown: a run, a vote, an open
            return [path, path]

        session.change(on_session_html, session, [export_html, history_html], api_visibility="private")

        def on_diff(doc: dict[str, Any] | None, a: str | None, b: str | None) -> str:
            answers = _answers(ctx, doc)
            if a not in answers or b not in answers:
                return "choose two answers"
            return word_diff_html(answers[a], answers[b])

        diff_btn.click(on_diff, [session, diff_a, diff_b], diff_out, api_visibility="private")

        # ---- history ------------------------------------------------------------------------
        def on_history(query: str, model: str | None) -> tuple[Any, list[str], Any]:
            table, ids = history.rows(ctx, query, model)
            return table, ids, gr.update(choices=history.model_choices(ctx))

        history_outs = [history_df, history_ids, model_filter]
        for trigger in (search.submit, model_filter.change, history_tab.select):
            trigger(on_history, [search, model_filter], history_outs, api_visibility="private")

        def on_open(ids: list[str], v: dict[str, Any], evt: gr.SelectData) -> list[Any]:
            row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            doc = ctx.store.get_session(ids[row])
            outputs = doc["turns"][-1]["outputs"] if doc["turns"] else []
            shown = {**v, "doc": doc, "blind": False, "battle": False}
            common = [doc.get("system") or "", gr.Tabs(selected="compare")]
            if blind_runs.is_hidden(ctx, doc):  # no names, no export files until the vote
                return [shown, doc, gr.update(visible=True), *common,
                        lane_view.race_frame(outputs, blind_names(len(outputs))), None, None,
                        f"opened blind session {md(doc['id'])}: vote to reveal the models", doc["id"],
                        *arena_ui.opened(arena)]
            chosen = session_models(doc)
            json_path, md_path = history.write_exports(ctx, doc["id"])
            return [{**shown, "models": chosen}, doc, gr.update(value=chosen, visible=True), *common,
                    lane_view.race_frame(outputs), json_path, md_path, f"opened session {md(doc['id'])}: {md(doc['title'])}",
                    doc["id"], *arena_ui.opened(arena)]

        history_df.select(on_open, [history_ids, view_state],
                          [view_state, session, models, system, tabs, race, export_json, export_md, notice,
                           selected, *arena_ui.opened_outputs(arena)], api_visibility="private")

        def on_import(file: Any, query: str, model: str | None) -> list[Any]:
            message = history.import_file(ctx, getattr(file, "name", file))
            return [message, *on_history(query, model)]

        import_btn.upload(on_import, [import_btn, search, model_filter], [history_msg, *history_outs],
                          api_visibility="private")

        def on_delete(sid: str | None, query: str, model: str | None) -> list[Any]:
            if not sid:
                return ["open a session first (click its row)", *on_history(query, model)]
            ctx.store.delete_session(sid)
            return [f"deleted session {md(sid)}", *on_history(query, model)]

        delete_btn.click(on_delete, [selected, search, model_filter], [history_msg, *history_outs],
                         api_visibility="private")

        # ---- stats and settings ---------------------------------------------------------------
        stats_tab.select(lambda: stats.frames(blind_runs.visible_stats(ctx)), None, [stats_table, stats_plot],
                         api_visibility="private")

        async def on_settings(doc: dict[str, Any] | None) -> list[Any]:
            # which local models are loaded would say which ones a blind run drew: not before the vote
            table, ids = settings_tab.loaded_frame(ctx, hidden=blind_runs.is_hidden(ctx, doc))
            return [await settings_tab.status_html(ctx), table, gr.update(choices=ids, value=None)]

        settings_tab_.select(on_settings, session, [status, loaded, unload_which], api_visibility="private")

        async def on_unload(which: str | None, doc: dict[str, Any] | None) -> list[Any]:
            message = await settings_tab.unload(ctx, which)
            return [message, *(await on_settings(doc))]

        unload_btn.click(on_unload, [unload_which, session], [unload_msg, status, loaded, unload_which],
                         api_visibility="private")

        async def on_load(chosen: list[str], pool: list[str]) -> Any:
            found = discovery.usable_ids(await discovery.discover(ctx.runtime))
            return (gr.update(choices=sorted(set(found + list(chosen or [])))),
                    gr.update(choices=sorted(set(found + list(pool or [])))))

        demo.load(on_load, [models, arena.pool], [models, arena.pool], api_visibility="private")
        public_api.register(ctx)
    return demo


def _answers(ctx: Context, doc: dict[str, Any] | None) -> dict[str, str]:
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
