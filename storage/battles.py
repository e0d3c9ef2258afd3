"""Arena data in the store: the sessions that carry votes, and battles imported from files.

Votes cast in Playground live in their session (``sessions.votes``); battles imported from an
arena battle file have no session, so they are kept as their JSON rows in ``arena_battles``.
This module reads and writes rows; the arena's maths lives in ``playground.arena``.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, insert, select

from storage.codec import loads, now
from storage.tables import BATTLES, SESSIONS, TURNS


def voted_sessions(conn: Connection) -> list[dict[str, Any]]:
    """``{"id", "created_at", "tags", "votes"}`` of every session that has votes."""
    rows = conn.execute(
        select(SESSIONS.c.id, SESSIONS.c.created_at, SESSIONS.c.tags, SESSIONS.c.votes)
        .where(SESSIONS.c.votes.is_not(None))
        .order_by(SESSIONS.c.created_at)
    )
    return [{"id": r.id, "created_at": r.created_at, "tags": loads(r.tags) or [], "votes": loads(r.votes)}
            for r in rows if loads(r.votes)]


def tagged_sessions(conn: Connection, tag: str) -> list[dict[str, Any]]:
    """``{"id", "tags", "votes", "turns"}`` of every session tagged ``tag`` (``turns``: how many)."""
    turns = select(func.count()).select_from(TURNS).where(TURNS.c.session_id == SESSIONS.c.id).scalar_subquery()
    rows = conn.execute(
        select(SESSIONS.c.id, SESSIONS.c.tags, SESSIONS.c.votes, turns.label("turns"))
        .where(SESSIONS.c.tags.like(f'%"{tag}"%'))
    )
    found = [{"id": r.id, "tags": loads(r.tags) or [], "votes": loads(r.votes) or [], "turns": r.turns} for r in rows]
    return [s for s in found if tag in s["tags"]]  # the LIKE narrows; the parsed list decides


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
