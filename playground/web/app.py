"""The page: ``build_app(ctx)`` lays out the header and the tabs, each built (and its events
wired) by its own module — ``compare_tab`` (whose lanes ``render`` builds with ``@gr.render``, 1 to 8,
four to a row, with the events that stream into them), ``history_tab``, ``arena_tab`` (the
leaderboard), ``stats``, ``settings_tab`` — and registers the public API (``public_api``).
Components travel between builders as the dataclasses of ``views``; handlers return
``{component: value}`` (Gradio's dict returns), never values by position.

Queue: the streaming events (run, replay, re-run) have no concurrency limit — they are async and
wait on the network or on the runtime's CPU turns, so one user's run never queues another's; the
local engines serialise themselves (``CpuBudget``). Other handlers share the default limit.
"""

from __future__ import annotations

from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from playground.engine import discovery
from playground.web import arena_tab, compare_tab, history_tab, links, public_api, settings_tab, stats
from playground.web.context import Context
from playground.web.escape import esc
from playground.web.limits import BodyLimit
from playground.web.theme import CSS, JS, theme
from playground.web.tokens_style import CSS as TOKENS_CSS
from playground.web.tokens_style import with_tokens_js

DEFAULT_MODELS = ["gguf:smollm2", "hf:smollm2"]


def launch_options(ctx: Context) -> dict[str, Any]:
    """What ``demo.launch()`` needs besides host and port (Gradio 6: css/js/theme go here).
    ``show_error`` off: Gradio renders a toast's message as HTML, and an unexpected exception's text
    may quote a title, a prompt or a provider's answer; only the page's own messages, escaped
    (``escape.toast``), reach a toast; anything else is logged by the server, its text never shown."""
    ctx.exports.mkdir(parents=True, exist_ok=True)
    limit = ctx.settings.limits.upload_bytes  # a file, and any request body (see web/limits.py)
    return {"css": CSS + TOKENS_CSS, "js": with_tokens_js(JS), "theme": theme(), "run_history": False,
            "footer_links": ["api"], "allowed_paths": [str(ctx.exports)], "show_error": False,
            "max_file_size": limit,
            "app_kwargs": {"middleware": [Middleware(BodyLimit, max_bytes=limit)]}}


def build_app(ctx: Context, default_models: list[str] | None = None) -> gr.Blocks:
    local = discovery.embedded(ctx.runtime) + discovery.configured(ctx.runtime) + discovery.gguf_files(ctx.runtime)
    choices = discovery.usable_ids(local)
    chosen = list(default_models or DEFAULT_MODELS)
    with gr.Blocks(title="Playground") as demo:
        with gr.Row(elem_classes=["page-head"]):
            gr.HTML('<h1 id="page-title">Playground</h1>')
            gr.HTML(f'<div class="notes" style="text-align:right">db: '
                    f'{esc(settings_tab.database_url(ctx))}</div>')
            copy = links.copy_button()
        with gr.Tabs(selected="compare") as tabs:
            compare = compare_tab.build(ctx, chosen, choices)
            history_tab.build(ctx, compare, tabs)
            arena_tab.build(ctx)
            stats.build(ctx)
            settings_tab.build(ctx, compare.session)
        links.wire(ctx, demo, compare, copy)  # the address follows the session shown; a link opens it

        async def on_load(picked: list[str], pool: list[str]) -> dict[Any, Any]:
            return await compare_tab.picker_choices(ctx, compare, picked, pool)

        # the providers' model lists come after the page is up (kept a while: ``discovery.catalog``);
        # no concurrency limit, so one page waiting on a slow provider never queues another's load
        pickers = [compare.models, compare.arena.pool]
        demo.load(on_load, pickers, [*pickers, compare.models_note], api_visibility="private",
                  concurrency_limit=None, show_progress="hidden")
        public_api.register(ctx)
    return demo
