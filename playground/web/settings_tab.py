"""The Settings tab: what this server can use — providers with a key set (never the key), Ollama
reachable or not, loaded local models with their memory (and Unload), the database, the version."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import gradio as gr
import pandas as pd

from backends.registry import PROVIDERS
from playground.engine.discovery import ollama_models
from playground.web import blind_runs
from playground.web.context import Context
from playground.web.escape import esc, md

LOADED = ["provider", "model", "pid", "memory (MB)"]


def database_url(ctx: Context) -> str:
    """The database in use, any password masked."""
    return ctx.store.engine.url.render_as_string(hide_password=True)


def version() -> str:
    try:
        return metadata.version("playground")
    except metadata.PackageNotFoundError:
        return "unknown"


async def status_html(ctx: Context) -> str:
    keyed, missing = [], []
    for name, spec in PROVIDERS.items():
        if not spec.needs_key:
            continue
        config = ctx.settings.providers[name]
        (keyed if config.api_key else missing).append(f"{name} ({config.key_env})")
    ollama = await ollama_models(ctx.runtime)
    if ollama and ollama[0].id == "ollama:*":
        ollama_line = f"not reachable — {ollama[0].why}"
    else:
        ollama_line = f"reachable, {len(ollama)} model(s): " + ", ".join(m.id for m in ollama)
    rows = [
        ("keys set", ", ".join(keyed) or "none"),
        ("no key", ", ".join(missing) or "none"),
        ("Ollama", ollama_line),
        ("database", database_url(ctx)),
        ("home", str(ctx.settings.home)),
        ("exposed", "yes: local ids limited to named models and files under models/; test: "
         + ("on" if ctx.settings.exposed_test_model else "off") if ctx.settings.exposed else "no (127.0.0.1)"),
        ("version", f"playground {version()}"),
    ]
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="status-table">{body}</table>'


def loaded_frame(ctx: Context, hidden: bool = False) -> tuple[pd.DataFrame, list[str]]:
    """The loaded local models and their ids for Unload; one placeholder row while this page shows a
    blind session not voted on yet (which models are loaded would say which ones it drew)."""
    if hidden:
        return pd.DataFrame([["—", "hidden until you vote on the blind session", None, None]], columns=LOADED), []
    found: list[dict[str, Any]] = ctx.runtime.loaded_models()
    table = [[m["provider"], m["model"], m.get("pid"), m.get("rss_mb")] for m in found]
    return pd.DataFrame(table, columns=LOADED), [f"{m['provider']}:{m['model']}" for m in found]


async def unload(ctx: Context, which: str | None) -> str:
    if not which:
        return "choose a loaded model first"
    provider, _, model = which.partition(":")
    done = await ctx.runtime.unload(provider, model)
    return f"unloaded {md(which)}" if done else f"{md(which)} was not loaded"


def build(ctx: Context, session: Any) -> None:
    """The tab's components and events, inside ``gr.Tabs``; ``session`` is the Compare tab's session
    (while it is a hidden blind one, the loaded models are not listed)."""
    with gr.Tab("Settings", id="settings-tab") as tab:
        status = gr.HTML(elem_id="status")
        loaded = gr.Dataframe(headers=LOADED, interactive=False, label="loaded local models", elem_id="loaded-models")
        with gr.Row():
            which = gr.Dropdown(label="model", choices=[], elem_id="unload-which")
            unload_btn = gr.Button("Unload", elem_id="unload")
        message = gr.Markdown("", latex_delimiters=[])

    async def shown(doc: dict[str, Any] | None) -> dict[Any, Any]:
        # which local models are loaded would say which ones a blind run drew: not before the vote
        table, ids = loaded_frame(ctx, hidden=blind_runs.is_hidden(ctx, doc))
        return {status: await status_html(ctx), loaded: table, which: gr.update(choices=ids, value=None)}

    tab.select(shown, session, [status, loaded, which], api_visibility="private")

    async def on_unload(model: str | None, doc: dict[str, Any] | None) -> dict[Any, Any]:
        return {message: await unload(ctx, model)} | await shown(doc)

    unload_btn.click(on_unload, [which, session], [message, status, loaded, which], api_visibility="private")
