"""The History tab's work: the saved sessions newest first (with search), opening one, export
files (JSON, Markdown, HTML), import (JSON or HTML), delete. Store calls are synchronous; Gradio
runs these handlers in its thread pool.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from playground.web import blind_runs
from playground.web.context import Context
from playground.web.escape import md
from storage.document import Session
from storage.html import to_html
from storage.markdown import to_markdown

COLUMNS = ["when", "title", "models", "turns", "lanes"]
DOTS = {"ok": "●", "error": "✖", "cancelled": "◐", "interrupted": "◌", "running": "○"}


def _row(s: dict[str, Any], hidden: bool = False) -> list[Any]:
    when = (s.get("created_at") or "")[:19].replace("T", " ")
    title = s.get("title") or ""
    if s.get("snippet"):
        title += f" — {s['snippet']}"
    lanes = " ".join(f"{DOTS.get(k, '?')}{k} {v}" for k, v in sorted(s.get("statuses", {}).items()))
    models = blind_runs.HIDDEN_MODELS if hidden else ", ".join(s.get("models", []))
    return [when, title, models, s.get("turns", 0), lanes]


def rows(ctx: Context, query: str = "", model: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The table of sessions (search results when ``query`` has words) and their ids, in order."""
    model = model or None
    if query and query.strip():
        found = ctx.store.search(query, model=model, limit=100)
    else:
        found = ctx.store.list_sessions(limit=100, model=model)
    hidden = blind_runs.hidden_ids(ctx) if any(blind_runs.TAG in (s.get("tags") or []) for s in found) else set()
    marked = [(s, s["id"] in hidden) for s in found]
    if model:  # listing a hidden session under a model would say which model it ran
        marked = [(s, hidden) for s, hidden in marked if not hidden]
    return (pd.DataFrame([_row(s, hidden) for s, hidden in marked], columns=COLUMNS),
            [s["id"] for s, _ in marked])


def _slug(title: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", title).strip("-")[:40] or "session"


def _stem(session: Session) -> str:
    return f"{_slug(session.title)}-{session.id}"


def write_exports(ctx: Context, session_id: str) -> tuple[str, str]:
    """The stored session as JSON (its export document) and Markdown, written under
    ``$PLAYGROUND_HOME/exports`` so the download buttons have real files to serve. The Markdown
    links to the JSON and to the HTML that ``write_html`` writes beside them."""
    doc = ctx.store.export_document(session_id)
    ctx.exports.mkdir(parents=True, exist_ok=True)
    stem = _stem(Session.of(doc))
    json_path = ctx.exports / f"{stem}.json"
    md_path = ctx.exports / f"{stem}.md"
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    md_path.write_text(to_markdown(doc, [f"{stem}.html", json_path.name]), encoding="utf-8")
    return str(json_path), str(md_path)


def write_html(ctx: Context, doc: dict[str, Any] | None) -> str | None:
    """The Export HTML file of the session shown (read back from the store), or None: no saved
    session, or a blind one whose names are still hidden (no export file names them)."""
    session = Session.of(doc) if doc else None
    if session is None or not session.turns or blind_runs.is_hidden(ctx, doc):
        return None
    try:
        saved = ctx.store.export_document(session.id)
    except Exception:  # noqa: BLE001 - not saved (or deleted since): nothing to download
        return None
    ctx.exports.mkdir(parents=True, exist_ok=True)
    path = ctx.exports / f"{_stem(session)}.html"  # the same session: its id and title
    path.write_text(to_html(saved), encoding="utf-8")  # not hidden here: shown whole, as in the page
    return str(path)


@dataclass(frozen=True)
class Imported:
    """What an import did: its one-line message, and the session it names (``created`` False: the
    file's session was saved here already, so it is opened instead of copied)."""

    message: str
    session_id: str | None = None
    created: bool = False


def import_file(ctx: Context, path: str | Path | None) -> Imported:
    """Import a ``playground.session/1`` JSON file or an HTML export, unless the same session is
    saved already (``Store.import_or_open``: same id and content); a one-line message either way."""
    from storage.errors import StorageError

    if not path:
        return Imported("")
    try:
        data = Path(path).read_bytes()
        sid, created = ctx.store.import_or_open(data)
        title = ctx.store.get_session(sid)["title"]
    except (StorageError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Imported(f"⚠ import rejected: {md(first)}")  # the reason may quote the file
    if not created:
        return Imported(f"{quoted(title)} is saved here already: opened it (no copy made)", sid, False)
    return Imported(f"imported {quoted(title)}", sid, True)


def quoted(title: str | None, limit: int = 60) -> str:
    """A session's title for a notice (Markdown, escaped), cut to ``limit`` characters."""
    title = " ".join((title or "untitled").split())
    return f"“{md(title if len(title) <= limit else title[:limit - 1] + '…')}”"


def empty_message(query: str, model: str | None, shown: int) -> str:
    """What the table's empty state says (nothing when it has rows)."""
    if shown:
        return ""
    if query and query.strip():
        return f"No saved session matches {quoted(query.strip())}{' for this model' if model else ''}."
    if model:
        return "No saved session used this model."
    return "No saved sessions yet: run a prompt on Compare, or import a file."


ALL_MODELS = ("all models", "")


def model_choices(ctx: Context) -> list[tuple[str, str]]:
    """The model filter's entries: "all models" (value "") first, then each model used."""
    seen: list[str] = []
    for row in blind_runs.visible_stats(ctx):
        if row["model"] not in seen:
            seen.append(row["model"])
    return [ALL_MODELS, *((m, m) for m in sorted(seen))]
