"""A turn's rows: the turn, one row per output, and the model spec each output points to.

A spec is an output's (model, label, params); `outputs.spec_id` names it, so the model of a
thousand outputs is stored once. `Specs` caches the ids a store has seen: a flush of eight lanes
would otherwise look up eight specs in every transaction. An id is cached only once the transaction
that inserted it committed (`remember`), so a rolled-back insert is never reused.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from storage.codec import dumps, now, output_columns, spec_key
from storage.db import pg_safe
from storage.errors import NotFound
from storage.tables import OUTPUTS, SESSIONS, SPECS, TURNS


class Specs:
    """The spec ids a store has written or read, by spec key; thread-safe."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def id_of(self, conn: Connection, output: dict[str, Any], pending: dict[str, int]) -> int:
        """The id of the output's (model, label, params), adding it on first use; a new id goes to
        `pending` until its transaction commits."""
        key = spec_key(output["model"], output["label"], output["params"])
        with self._lock:
            known = self._ids.get(key)
        if known is not None:
            return known
        spec_id = conn.execute(select(SPECS.c.id).where(SPECS.c.key == key)).scalar()
        if spec_id is None:
            insert_ = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                insert_(SPECS).values(key=key, model=output["model"], label=output["label"],
                                      params=dumps(output["params"]), first_used_at=now())
                .on_conflict_do_nothing(index_elements=["key"])
            )
            spec_id = conn.execute(select(SPECS.c.id).where(SPECS.c.key == key)).scalar_one()
        pending[key] = spec_id
        return spec_id

    def remember(self, pending: dict[str, int]) -> None:
        """Cache spec ids once their transaction committed (a rolled-back insert is never cached)."""
        with self._lock:
            self._ids.update(pending)


def insert_turn(
    conn: Connection, specs: Specs, session_id: str, prompt: str, created: datetime,
    outputs: list[dict[str, Any]], writer: str | None, pending: dict[str, int],
) -> int:
    """Add the next turn of a session with its (complete, checked) outputs; returns its index."""
    session = select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)
    if conn.dialect.name == "postgresql":
        session = session.with_for_update()  # one new turn at a time per session
    if conn.execute(session).first() is None:
        raise NotFound(f"no session {session_id}")
    index = conn.execute(
        select(func.coalesce(func.max(TURNS.c.idx) + 1, 0)).where(TURNS.c.session_id == session_id)
    ).scalar_one()
    turn_id = conn.execute(
        insert(TURNS).values(pg_safe(conn, {"session_id": session_id, "idx": index, "prompt": prompt,
                                            "created_at": created})).returning(TURNS.c.id)
    ).scalar_one()
    rows = [
        pg_safe(conn, {**output_columns(o), "session_id": session_id, "turn_id": turn_id, "lane": lane,
                       "spec_id": specs.id_of(conn, o, pending), "created_at": created, "updated_at": now(),
                       "writer": writer})
        for lane, o in enumerate(outputs)
    ]
    if any("tokens" in row for row in rows):  # one insert of many rows: the same columns in each
        rows = [{"tokens": None, **row} for row in rows]
    if rows:
        conn.execute(insert(OUTPUTS), rows)
    conn.execute(update(SESSIONS).where(SESSIONS.c.id == session_id).values(updated_at=now()))
    return index
