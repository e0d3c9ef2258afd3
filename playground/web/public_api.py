"""The page's public API (``/gradio_api/info``; gradio_client: ``Client(url).submit(..., api_name="/compare")``).

    /compare   one prompt to every model; streams {"session_id", "done", "lanes": [{model, status,
               text}]} at most every FLUSH_S, then the saved outputs with their figures (done=True)
    /sessions  the saved sessions, newest first, or those matching a search
    /session   one saved session as its export document (playground.session/1)

The page's own events are private: they are wired to its components and change with its layout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import gradio as gr

from backends.base import Params
from backends.errors import ConfigError
from playground.web.actions import MAX_LANES
from playground.web.compare import api_frames, comparison_job
from playground.web.context import Context


def register(ctx: Context) -> None:
    async def compare(prompt: str, models: list[str], system: str = "", temperature: float | None = None,
                      max_tokens: int | None = None, seed: int | None = None,
                      session_id: str = "") -> AsyncIterator[dict[str, Any]]:
        """Send `prompt` to every model of `models` at once (continuing `session_id` if given);
        streams every lane's status and text, then the saved outputs with their figures."""
        params = Params(temperature=temperature, max_tokens=None if max_tokens is None else int(max_tokens),
                        seed=None if seed is None else int(seed))
        if not isinstance(models, list) or not 1 <= len(models) <= MAX_LANES:
            raise gr.Error(f"models must list 1 to {MAX_LANES} model ids")
        try:
            doc = await asyncio.to_thread(ctx.store.get_session, session_id) if session_id else None
            job = comparison_job(ctx, list(models), prompt, system or None, [params] * len(models), doc)
        except ConfigError as exc:
            raise gr.Error(str(exc)) from None
        async with aclosing(api_frames(job, len(models))) as frames:
            async for frame in frames:
                yield frame

    def sessions(query: str = "", limit: int = 50) -> list[dict[str, Any]]:
        """Saved sessions, newest first (those matching `query` when it has words)."""
        if query.strip():
            return ctx.store.search(query, limit=int(limit))
        return ctx.store.list_sessions(limit=int(limit))

    def session(session_id: str) -> dict[str, Any]:
        """One saved session as its export document (playground.session/1)."""
        return ctx.store.export_document(session_id)

    gr.api(compare, api_name="compare", concurrency_limit=None)
    gr.api(sessions, api_name="sessions")
    gr.api(session, api_name="session")
