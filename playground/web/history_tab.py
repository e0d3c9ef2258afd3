"""The History tab's layout and events: the saved sessions (search, model filter), opening one into
the Compare tab, import, delete, and the HTML export of the session shown. The work is in
``history``; opening a hidden blind session shows it with "Model A", … and no export files.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.arena.blind import blind_names
from playground.web import arena_ui, blind_runs, history, lane_view
from playground.web.context import Context
from playground.web.escape import md
from playground.web.views import CompareView, LaneView
from storage.document import Session


def build(ctx: Context, compare: CompareView, tabs: Any) -> None:
    """The tab's components and events, inside ``gr.Tabs``; ``compare`` is where a session opens."""
    with gr.Tab("History", id="history-tab") as tab:
        history_ids = gr.State([])
        selected = gr.State(None)
        with gr.Row():
            search = gr.Textbox(label="search prompts and answers", elem_id="history-search", scale=3)
            model_filter = gr.Dropdown(label="model", choices=[], allow_custom_value=True, scale=1)
        table = gr.Dataframe(headers=history.COLUMNS, interactive=False, wrap=True,
                             elem_id="history", label="Saved sessions, newest first (click to open)")
        with gr.Row():
            import_btn = gr.UploadButton("Import JSON or HTML", file_types=[".json", ".html"], elem_id="import-json")
            export_html = gr.DownloadButton("Export HTML", elem_id="history-export-html", value=None)
            delete_btn = gr.Button("Delete selected", variant="stop", elem_id="delete")
        message = gr.Markdown("", elem_id="history-msg", latex_delimiters=[])
    page = compare.page

    def listed(query: str, model: str | None) -> dict[Any, Any]:
        rows, ids = history.rows(ctx, query, model)
        return {table: rows, history_ids: ids, model_filter: gr.update(choices=history.model_choices(ctx))}

    listing = [table, history_ids, model_filter]
    for trigger in (search.submit, model_filter.change, tab.select):
        trigger(listed, [search, model_filter], listing, api_visibility="private")

    def on_open(ids: list[str], v: LaneView, evt: gr.SelectData) -> dict[Any, Any]:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return opened(ctx, compare, ctx.store.get_session(ids[row]), v) | {selected: ids[row], tabs: gr.Tabs(
            selected="compare")}

    opened_outputs = [compare.view_state, *page.components(), compare.models, compare.system, tabs, selected,
                      *arena_ui.opened_outputs(compare.arena)]
    table.select(on_open, [history_ids, compare.view_state], opened_outputs, api_visibility="private")

    def on_import(file: Any, query: str, model: str | None) -> dict[Any, Any]:
        return {message: history.import_file(ctx, getattr(file, "name", file))} | listed(query, model)

    import_btn.upload(on_import, [import_btn, search, model_filter], [message, *listing], api_visibility="private")

    def on_delete(sid: str | None, query: str, model: str | None) -> dict[Any, Any]:
        if not sid:
            return {message: "open a session first (click its row)"} | listed(query, model)
        ctx.store.delete_session(sid)
        return {message: f"deleted session {md(sid)}"} | listed(query, model)

    delete_btn.click(on_delete, [selected, search, model_filter], [message, *listing], api_visibility="private")

    def on_session_html(doc: dict[str, Any] | None) -> dict[Any, Any]:
        path = history.write_html(ctx, doc)  # every change of the session shown: a run, a vote, an open
        return {compare.export_html: path, export_html: path}

    page.session.change(on_session_html, page.session, [compare.export_html, export_html], api_visibility="private")


def opened(ctx: Context, compare: CompareView, doc: dict[str, Any], v: LaneView) -> dict[Any, Any]:
    """The Compare tab showing a saved session as it was (a hidden blind one without names or exports)."""
    page = compare.page
    session = Session.of(doc)
    outputs = session.last_turn.outputs if session.last_turn else []
    shown = v.but(doc=doc, blind=False, battle=False)
    out = {page.session: doc, compare.system: session.system or "", **arena_ui.opened(compare.arena)}
    if blind_runs.is_hidden(ctx, doc):  # no names, no export files until the vote
        return out | {compare.view_state: shown, compare.models: gr.update(visible=True),
                      page.race: lane_view.race_frame(outputs, blind_names(len(outputs))),
                      page.export_json: None, page.export_md: None,
                      page.notice: f"opened blind session {md(session.id)}: vote to reveal the models"}
    chosen = session.models()
    json_path, md_path = history.write_exports(ctx, session.id)
    return out | {compare.view_state: shown.but(models=chosen), compare.models: gr.update(value=chosen, visible=True),
                  page.race: lane_view.race_frame(outputs), page.export_json: json_path, page.export_md: md_path,
                  page.notice: f"opened session {md(session.id)}: {md(session.title)}"}
