"""The History tab's layout and events: the saved sessions (search, model filter), opening one into
the Compare tab, import (a session saved already is opened, not copied), delete (after a
confirmation; the session leaves Compare too when it is shown there), and the HTML export of the
session shown. Search runs as you type, ~300 ms after the last key. The work is in ``history``;
opening a hidden blind session shows it with "Model A", … and no export files.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from playground.arena.blind import blind_names
from playground.web import arena_ui, blind_runs, history, lane_view
from playground.web.context import Context
from playground.web.views import CompareView, LaneView
from storage.document import Session

# Search as you type: the query goes ~300 ms after the last key (a hidden button's click), not once
# per key; Enter searches at once.
DEBOUNCE = """(query) => {
  clearTimeout(window.__historySearch);
  window.__historySearch = setTimeout(() => document.getElementById('history-search-go')?.click(), 300);
  return query;
}"""
COLUMN_WIDTHS = ["150px", "44%", "22%", "64px", "16%"]  # when, title — snippet, models, turns, lanes


def build(ctx: Context, compare: CompareView, tabs: Any) -> None:
    """The tab's components and events, inside ``gr.Tabs``; ``compare`` is where a session opens."""
    with gr.Tab("History", id="history-tab") as tab:
        history_ids = gr.State([])
        selected = gr.State(None)
        with gr.Row():
            search = gr.Textbox(label="search prompts, answers and titles", elem_id="history-search", scale=3,
                                placeholder="type: the start of a word, or any part of a title")
            model_filter = gr.Dropdown(label="model", choices=[history.ALL_MODELS], value="", scale=1,
                                       elem_id="history-model")
        go = gr.Button("Search", visible="hidden", elem_id="history-search-go")
        table = gr.Dataframe(headers=history.COLUMNS, interactive=False, wrap=True, column_widths=COLUMN_WIDTHS,
                             elem_id="history", label="Saved sessions, newest first (click to open)")
        empty = gr.Markdown("", elem_id="history-empty", latex_delimiters=[])
        with gr.Row():
            import_btn = gr.UploadButton("Import JSON or HTML", file_types=[".json", ".html"], elem_id="import-json")
            export_html = gr.DownloadButton("Export HTML", elem_id="history-export-html", value=None)
            delete_btn = gr.Button("Delete selected", variant="stop", elem_id="delete")
        with gr.Row(visible=False, elem_id="delete-ask") as ask_row:
            ask = gr.Markdown("", latex_delimiters=[])
            confirm_btn = gr.Button("Delete it", variant="stop", elem_id="delete-confirm", scale=0)
            cancel_btn = gr.Button("Keep it", elem_id="delete-cancel", scale=0)
        message = gr.Markdown("", elem_id="history-msg", latex_delimiters=[])
    page = compare.page

    def listed(query: str, model: str | None) -> dict[Any, Any]:
        rows, ids = history.rows(ctx, query, model)
        return {table: rows, history_ids: ids, empty: history.empty_message(query, model, len(ids)),
                model_filter: gr.update(choices=history.model_choices(ctx))}

    listing = [table, history_ids, empty, model_filter]
    for trigger in (search.submit, go.click, model_filter.change, tab.select):
        trigger(listed, [search, model_filter], listing, api_visibility="private")
    search.input(None, search, None, js=DEBOUNCE)

    opened_outputs = [compare.view_state, *page.components(), compare.models, compare.system, tabs, selected,
                      *arena_ui.opened_outputs(compare.arena)]

    def shown(sid: str, v: LaneView) -> dict[Any, Any]:
        return opened(ctx, compare, ctx.store.get_session(sid), v) | {selected: sid, tabs: gr.Tabs(selected="compare")}

    def on_open(ids: list[str], v: LaneView, evt: gr.SelectData) -> dict[Any, Any]:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return shown(ids[row], v)

    table.select(on_open, [history_ids, compare.view_state], opened_outputs, api_visibility="private")

    def on_import(file: Any, query: str, model: str | None, v: LaneView) -> dict[Any, Any]:
        done = history.import_file(ctx, getattr(file, "name", file))
        out = {message: done.message} | listed(query, model)
        if done.session_id and not done.created:  # saved already: open that one, make no copy
            out |= shown(done.session_id, v) | {page.notice: done.message}
        return out

    import_btn.upload(on_import, [import_btn, search, model_filter, compare.view_state],
                      list(dict.fromkeys([message, *listing, *opened_outputs])), api_visibility="private")

    def on_delete(sid: str | None) -> dict[Any, Any]:
        if not sid:
            return {message: "open a session first (click its row)", ask_row: gr.update(visible=False)}
        try:
            title = ctx.store.get_session(sid)["title"]
        except Exception:  # noqa: BLE001 - deleted since (another tab): nothing to ask about
            return {message: "that session is deleted already", ask_row: gr.update(visible=False)}
        return {ask: f"Delete {history.quoted(title)} for good? Its turns and answers go too.",
                ask_row: gr.update(visible=True), message: ""}

    delete_btn.click(on_delete, selected, [message, ask, ask_row], api_visibility="private")
    cancel_btn.click(lambda: {ask_row: gr.update(visible=False), message: "kept"}, None, [ask_row, message],
                     api_visibility="private")

    cleared = [compare.view_state, *page.components()]

    def on_confirm(sid: str | None, query: str, model: str | None, doc: dict[str, Any] | None,
                   v: LaneView) -> dict[Any, Any]:
        out = {ask_row: gr.update(visible=False), selected: None}
        if not sid:
            return out | {message: "open a session first (click its row)"} | listed(query, model)
        try:
            title = ctx.store.get_session(sid)["title"]
            ctx.store.delete_session(sid)
        except Exception:  # noqa: BLE001 - deleted since (another tab)
            return out | {message: "that session is deleted already"} | listed(query, model)
        out |= {message: f"deleted {history.quoted(title)}"} | listed(query, model)
        if doc and doc.get("id") == sid:  # it is open on Compare: the page there shows no session now
            out |= {compare.view_state: v.but(doc=None), page.session: None, page.race: None,
                    page.export_json: None, page.export_md: None,
                    page.notice: f"{history.quoted(title)} was deleted: the next run starts a new session"}
        return out

    confirm_btn.click(on_confirm, [selected, search, model_filter, page.session, compare.view_state],
                      list(dict.fromkeys([ask_row, selected, message, *listing, *cleared])), api_visibility="private")

    def on_session_html(doc: dict[str, Any] | None) -> dict[Any, Any]:
        path = history.write_html(ctx, doc)  # every change of the session shown: a run, a vote, an open
        return {compare.export_html: path, export_html: path}

    page.session.change(on_session_html, page.session, [compare.export_html, export_html], api_visibility="private")


def opened(ctx: Context, compare: CompareView, doc: dict[str, Any], v: LaneView) -> dict[Any, Any]:
    """The Compare tab showing a saved session as it was (a hidden blind one without names or exports)."""
    page = compare.page
    session = Session.of(doc)
    outputs = session.last_turn.outputs if session.last_turn else []
    shown = v.but(doc=doc, blind=False, battle=False, turn=None)
    out = {page.session: doc, compare.system: session.system or "", **arena_ui.opened(compare.arena)}
    if blind_runs.is_hidden(ctx, doc):  # no names, no export files until the vote
        return out | {compare.view_state: shown, compare.models: gr.update(visible=True),
                      page.race: lane_view.race_frame(outputs, blind_names(len(outputs))),
                      page.export_json: None, page.export_md: None,
                      page.notice: f"opened blind session {history.quoted(session.title)}: vote to reveal the models"}
    chosen = session.models()
    json_path, md_path = history.write_exports(ctx, session.id)
    return out | {compare.view_state: shown.but(models=chosen), compare.models: gr.update(value=chosen, visible=True),
                  page.race: lane_view.race_frame(outputs), page.export_json: json_path, page.export_md: md_path,
                  page.notice: f"opened {history.quoted(session.title)}"}
