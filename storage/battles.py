"""Arena data in the store: the sessions that carry votes, and battles imported from files.

Votes cast in Playground live in their session (``sessions.votes``); battles imported from an
arena battle file have no session, so they are kept as their JSON rows in ``arena_battles``.
This module reads and writes rows; the arena's maths lives in ``playground.arena``. A session
row whose JSON cannot be read is reported (``errors.skipped``) and left out, never fatal.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, insert, select

from storage.codec import loads, now, raw_time, stored_time
from storage.errors import skipped
from storage.tables import BATTLES, OUTPUTS, SESSIONS, SPECS, TURNS


def voted_sessions(conn: Connection) -> list[dict[str, Any]]:
    """``{"id", "created_at", "tags", "votes"}`` of every session that has votes, as stored: a field
    that is not valid JSON comes back as its text, for the reader to judge and report (the
    leaderboard skips such a session, ``playground.arena.ratings``)."""
    rows = conn.execute(
        select(SESSIONS.c.id, raw_time(SESSIONS.c.created_at), SESSIONS.c.tags, SESSIONS.c.votes)
        .where(SESSIONS.c.votes.is_not(None))
        .order_by(SESSIONS.c.created_at)
    )
    found = []
    for r in rows:
        votes = _as_stored(r.votes)
        if votes:
            found.append({"id": r.id, "created_at": _time_as_stored(r.created_at), "tags": _as_stored(r.tags) or [],
                          "votes": votes})
    return found


def tagged_sessions(conn: Connection, tag: str) -> list[dict[str, Any]]:
    """``{"id", "tags", "votes", "turns"}`` of every session tagged ``tag`` (``turns``: how many).

    Unreadable votes read as none (a blind session stays hidden); unreadable tags are skipped."""
    turns = select(func.count()).select_from(TURNS).where(TURNS.c.session_id == SESSIONS.c.id).scalar_subquery()
    rows = conn.execute(
        select(SESSIONS.c.id, SESSIONS.c.tags, SESSIONS.c.votes, turns.label("turns"))
        .where(SESSIONS.c.tags.like(f'%"{tag}"%'))
    )
    found = []
    for r in rows:
        try:
            tags = _tags(r.tags)
        except ValueError as exc:
            skipped(r.id, f"unreadable tags ({exc})")
            continue
        try:
            votes = loads(r.votes) or []
        except ValueError as exc:
            skipped(r.id, f"unreadable votes ({exc})")
            votes = []
        if tag in tags:  # the LIKE narrows; the parsed list decides
            found.append({"id": r.id, "tags": tags, "votes": votes if isinstance(votes, list) else [],
                          "turns": r.turns})
    return found


def lane_models(conn: Connection, session_id: str) -> list[list[str]] | None:
    """The model of each output, per turn, as stored (what votes must refer to); None: no session."""
    if conn.execute(select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)).first() is None:
        return None
    turns = {row.id: [] for row in conn.execute(
        select(TURNS.c.id).where(TURNS.c.session_id == session_id).order_by(TURNS.c.idx))}
    rows = conn.execute(
        select(OUTPUTS.c.turn_id, SPECS.c.model)
        .join(SPECS, SPECS.c.id == OUTPUTS.c.spec_id)
        .where(OUTPUTS.c.session_id == session_id)
        .order_by(OUTPUTS.c.turn_id, OUTPUTS.c.lane)
    )
    for turn_id, model in rows:
        turns[turn_id].append(model)
    return list(turns.values())


def _as_stored(text: str | None) -> Any:
    try:
        return loads(text)
    except ValueError:
        return text


def _time_as_stored(value: Any) -> Any:
    try:
        return stored_time(value)
    except ValueError:
        return value


def _tags(text: str | None) -> list[str]:
    tags = loads(text) or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ValueError("tags are not a list of strings")
    return tags


def add_battles(conn: Connection, rows: list[str]) -> int:
    for row in rows:
        if not isinstance(json.loads(row), dict):
            raise ValueError("a battle row must be a JSON object")
    if rows:
        stamp = now()
        conn.execute(insert(BATTLES), [{"row": row, "imported_at": stamp} for row in rows])
    return len(rows)


def battles(conn: Connection) -> list[str]:
    return [r.row for r in conn.execute(select(BATTLES.c.row).order_by(BATTLES.c.id))]
