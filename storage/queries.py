"""Reads: a whole session as its document, session summaries, listing and per-output stats.

Everything here runs inside a transaction the store opened and returns plain data. Listing reads
only narrow columns (never texts or timelines), so the newest 50 of 10,000 sessions is two small
index-driven queries. A row that cannot be read (garbled by hand, or by an older release) is
reported with `errors.skipped` and left out of a list or the stats, never fatal to them.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, select

from storage.codec import loads, output_document, paused_gc, raw_time, stored_time, to_iso
from storage.errors import NotFound, skipped
from storage.tables import OUTPUTS, SESSIONS, SPECS, TURNS

PROMPT_PREVIEW = 200


def load_document(conn: Connection, session_id: str) -> dict[str, Any]:
    """The export document of one session; NotFound if there is none."""
    session = conn.execute(select(SESSIONS).where(SESSIONS.c.id == session_id)).first()
    if session is None:
        raise NotFound(f"no session {session_id}")
    doc: dict[str, Any] = {
        "schema": "playground.session/1",
        "id": session.id,
        "title": session.title,
        "created_at": to_iso(session.created_at),
        "system": session.system,
    }
    if session.rerun_of is not None:
        doc["rerun_of"] = session.rerun_of
    if session.tags is not None:
        doc["tags"] = loads(session.tags)
    if session.votes is not None:
        doc["votes"] = loads(session.votes)
    turns = conn.execute(
        select(TURNS.c.id, TURNS.c.prompt, TURNS.c.created_at)
        .where(TURNS.c.session_id == session_id)
        .order_by(TURNS.c.idx)
    ).all()
    outputs: dict[int, list[dict[str, Any]]] = {turn.id: [] for turn in turns}
    rows = conn.execute(
        select(OUTPUTS, SPECS.c.model, SPECS.c.label, SPECS.c.params)
        .join(SPECS, SPECS.c.id == OUTPUTS.c.spec_id)
        .where(OUTPUTS.c.session_id == session_id)
        .order_by(OUTPUTS.c.turn_id, OUTPUTS.c.lane)
    )
    with paused_gc():  # token rows: many small lists (storage/codec.py)
        for row in rows:
            outputs[row.turn_id].append(output_document(row))
    doc["turns"] = [
        {"prompt": t.prompt, "created_at": to_iso(t.created_at), "outputs": outputs[t.id]} for t in turns
    ]
    return doc


def content_key(doc: dict[str, Any]) -> str:
    """What makes two session documents the same session's content, as one string: the title, the
    system prompt, and per turn its prompt and each lane's model, label, status and answer. Times,
    figures and timelines are left out (an export carries them rounded as stored); NUL becomes
    U+FFFD as PostgreSQL stores it."""
    content = [doc.get("title"), doc.get("system"),
               [[t.get("prompt"), [[o.get("model"), o.get("label"), o.get("status"), o.get("text")]
                                   for o in t.get("outputs") or []]] for t in doc.get("turns") or []]]
    return json.dumps(content, ensure_ascii=False).replace("\\u0000", "\ufffd")


def same_session(conn: Connection, doc: dict[str, Any]) -> bool:
    """Whether the session with ``doc``'s id is stored here already with the same content
    (``content_key``): importing that document again would only duplicate it."""
    try:
        stored = load_document(conn, doc["id"])
    except NotFound:
        return False
    return content_key(stored) == content_key(doc)


def filtered(
    stmt: Select, *, model: str | None, since: datetime | None, until: datetime | None
) -> Select:
    """`stmt` (a select over sessions) narrowed to a model used and a creation-time range."""
    if model is not None:
        # EXISTS, not IN: walking the newest sessions stops after `limit` hits, where IN would
        # first collect every session that ever used a common model.
        stmt = stmt.where(
            select(OUTPUTS.c.id)
            .where(OUTPUTS.c.session_id == SESSIONS.c.id,
                   OUTPUTS.c.spec_id.in_(select(SPECS.c.id).where(SPECS.c.model == model)))
            .exists()
        )
    if since is not None:
        stmt = stmt.where(SESSIONS.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(SESSIONS.c.created_at < until)
    return stmt


def newest(stmt: Select, limit: int, offset: int = 0) -> Select:
    return stmt.order_by(SESSIONS.c.created_at.desc(), SESSIONS.c.id.desc()).limit(limit).offset(offset)


def summaries(conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
    """Summaries of the sessions `ids`, in that order: what a list or a search result shows."""
    if not ids:
        return []
    sessions = {
        row.id: row
        for row in conn.execute(
            select(SESSIONS.c.id, SESSIONS.c.title, raw_time(SESSIONS.c.created_at), SESSIONS.c.rerun_of,
                   SESSIONS.c.tags)
            .where(SESSIONS.c.id.in_(ids))
        )
    }
    turn_counts: dict[str, int] = dict(
        conn.execute(
            select(TURNS.c.session_id, func.count()).where(TURNS.c.session_id.in_(ids)).group_by(TURNS.c.session_id)
        ).all()
    )
    prompts = dict(
        conn.execute(
            select(TURNS.c.session_id, func.substr(TURNS.c.prompt, 1, PROMPT_PREVIEW))
            .where(TURNS.c.session_id.in_(ids), TURNS.c.idx == 0)
        ).all()
    )
    models: dict[str, list[str]] = {sid: [] for sid in ids}
    statuses: dict[str, Counter[str]] = {sid: Counter() for sid in ids}
    lanes = conn.execute(
        select(OUTPUTS.c.session_id, SPECS.c.model, OUTPUTS.c.status)
        .join(SPECS, SPECS.c.id == OUTPUTS.c.spec_id)
        .where(OUTPUTS.c.session_id.in_(ids))
        .order_by(OUTPUTS.c.turn_id, OUTPUTS.c.lane)
    )
    for sid, model, status in lanes:
        if model not in models[sid]:
            models[sid].append(model)
        statuses[sid][status] += 1
    result = []
    for sid in ids:
        row = sessions.get(sid)
        if row is None:  # deleted between the two queries
            continue
        try:
            created, tags = to_iso(stored_time(row.created_at)), loads(row.tags) or []
            if not isinstance(tags, list):
                raise ValueError("tags are not a list")
        except ValueError as exc:
            skipped(sid, f"unreadable row ({exc})")
            continue
        result.append({
            "id": row.id,
            "title": row.title,
            "created_at": created,
            "models": models[sid],
            "turns": turn_counts.get(sid, 0),
            "statuses": dict(statuses[sid]),
            "prompt": prompts.get(sid),
            "rerun_of": row.rerun_of,
            "tags": tags,
        })
    return result


def model_stats(conn: Connection, model: str | None) -> list[dict[str, Any]]:
    """One row per output: the figures a stats page plots, oldest first (unreadable rows skipped)."""
    stmt = (
        select(
            SPECS.c.model, SPECS.c.label, OUTPUTS.c.session_id, OUTPUTS.c.status, OUTPUTS.c.ttft_ms,
            OUTPUTS.c.total_ms, OUTPUTS.c.tokens_per_s, OUTPUTS.c.output_tokens, OUTPUTS.c.cost_usd,
            raw_time(OUTPUTS.c.created_at),
        )
        .join(SPECS, SPECS.c.id == OUTPUTS.c.spec_id)
        .order_by(OUTPUTS.c.created_at, OUTPUTS.c.id)
    )
    if model is not None:
        stmt = stmt.where(SPECS.c.model == model)
    rows = []
    for row in conn.execute(stmt):
        stat = row._asdict()
        problem = _stat_problem(stat)
        if problem is None:
            try:
                stat["created_at"] = to_iso(stored_time(stat["created_at"]))
            except ValueError as exc:
                problem = str(exc)
        if problem:
            skipped(stat["session_id"], f"an output's figures are unreadable ({problem})")
            continue
        rows.append(stat)
    return rows


def _stat_problem(stat: dict[str, Any]) -> str | None:
    """Why one output's figure columns cannot be plotted (SQLite keeps whatever was written), or None."""
    for name in ("ttft_ms", "total_ms", "tokens_per_s", "cost_usd", "output_tokens"):
        value = stat[name]
        if value is not None and (not isinstance(value, int | float) or isinstance(value, bool)
                                  or not math.isfinite(value) or value < 0):
            return f"{name} is {value!r}"
    return None
