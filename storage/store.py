"""The store: the one object the engine, the CLI and the UI use to keep sessions.

Durability, as the engine uses it: `start_turn` writes the turn and one `running` output per lane
in one transaction before any model answers; `update_output` replaces one lane's output (a flush
of the text so far, or the final record) in one statement. A process that dies mid-run therefore
leaves every lane's text as of its last flush; the next `Store.open` anywhere finds those `running`
rows whose writer is gone and marks them `interrupted` (`store.recovered` says how many).

Each write is one transaction, so a failed write changes nothing. The methods are synchronous and
thread-safe (each call takes its own pooled connection); the caller runs them off the event loop.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, delete, insert, select, update
from ulid import ULID

from storage import battles, queries, search
from storage.codec import complete_output, dumps, now, output_columns, to_datetime, to_iso
from storage.db import default_url, make_engine, pg_safe, transaction, translated
from storage.errors import NotFound, StorageError
from storage.html import embedded_document
from storage.indexer import Indexing
from storage.plain import find_secret, parse
from storage.recovery import Writer, recover, release
from storage.rows import Specs, insert_turn
from storage.schema import SCHEMA_ID, check_head, check_output, check_turn, check_votes, validate
from storage.tables import OUTPUTS, SESSIONS, TURNS
from storage.tokens import one_split

_ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")
# Statements of the flush path, built once (building them per call costs more than running them).
_TURN_ID = select(TURNS.c.id).where(TURNS.c.session_id == bindparam("sid"), TURNS.c.idx == bindparam("idx"))
_LANES = select(OUTPUTS.c.lane).where(OUTPUTS.c.turn_id == bindparam("turn_id"))
_WRITTEN = ("text", "status", "error", "finish_reason", "metrics", "server_metrics", "timeline", "extra",
            "ttft_ms", "total_ms", "tokens_per_s", "cost_usd", "output_tokens", "spec_id", "updated_at", "writer")
_UPDATE_OUTPUT = (
    update(OUTPUTS)
    .where(OUTPUTS.c.turn_id == bindparam("w_turn"), OUTPUTS.c.lane == bindparam("w_lane"))
    .values({name: bindparam(name) for name in _WRITTEN})
)
# An output with token probabilities also writes `tokens` (one without leaves the column alone,
# NULL since its insert: outputs without probabilities write what they always wrote).
_UPDATE_OUTPUT_TOKENS = _UPDATE_OUTPUT.values(tokens=bindparam("tokens"))


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _one_split(method: _Method) -> _Method:
    """A write whose token rows are split into columns once, for the check and the packing both
    (storage/tokens.py)."""
    @functools.wraps(method)
    def write(*args: Any, **kwargs: Any) -> Any:
        with one_split():
            return method(*args, **kwargs)
    return write  # type: ignore[return-value]


class Store:
    """Sessions in one database. Make one with `Store.open()`; `close()` it at exit."""

    def __init__(self, engine: Engine, *, stale_after: timedelta = timedelta(minutes=15)) -> None:
        self.engine = engine
        self.writer = Writer.new()
        self.recovered = 0
        self.specs = Specs()  # the spec ids this store has seen (storage/rows.py)
        # PostgreSQL: answers are indexed for search just after their save (storage/indexer.py)
        self.indexing = Indexing(engine)
        self._stale_after = stale_after

    @classmethod
    def open(cls, url: str | None = None, home: Path | None = None, **options: Any) -> Store:
        """Open (creating and migrating as needed) the database at `url`, or SQLite in `home`.

        With neither, PLAYGROUND_DATABASE_URL, else $PLAYGROUND_HOME/playground.db (~/.playground).
        """
        from storage.migrations import migrate

        store = cls(make_engine(url or default_url(home)), **options)
        try:
            with translated("open the database"):
                migrate(store.engine)
                with transaction(store.engine, write=True) as conn:
                    store.recovered = recover(conn, stale_after=store._stale_after)
        except BaseException:
            store.engine.dispose()
            raise
        store.indexing.saved()  # what another process saved but did not index (it was killed first)
        return store

    def close(self) -> None:
        """Mark this store's still-running outputs `interrupted`, index what waits for it (on
        PostgreSQL), and release the database."""
        try:
            with translated("close the database"), transaction(self.engine, write=True) as conn:
                release(conn, self.writer)
        finally:
            self.indexing.close()  # indexes what is pending first
            self.engine.dispose()

    def wait_indexed(self, timeout: float | None = None) -> bool:
        """Block until every answer saved so far is in the search index (PostgreSQL indexes them
        just after the save; search finds them either way, this only makes it faster)."""
        return self.indexing.wait(timeout)

    # -- writes ------------------------------------------------------------------------------

    def create_session(
        self, *, title: str, system: str | None, tags: Iterable[str] = (), rerun_of: str | None = None,
        session_id: str | None = None, created_at: datetime | str | None = None,
    ) -> str:
        """A new session with no turns yet; returns its id (a new ULID unless `session_id`)."""
        tags = list(tags)
        if not isinstance(title, str) or not (system is None or isinstance(system, str)):
            raise StorageError("title must be a string and system a string or None")
        if not all(isinstance(tag, str) and tag for tag in tags):
            raise StorageError("tags must be non-empty strings")
        for name, value in (("session_id", session_id), ("rerun_of", rerun_of)):
            if value is not None and not _ULID.match(value):
                raise StorageError(f"{name} must be a ULID (26 characters of Crockford base32), got {value!r}")
        created = to_datetime(created_at, "created_at") or now()
        sid = session_id or str(ULID.from_datetime(_aware(created)))
        head = {"schema": SCHEMA_ID, "id": sid, "title": title, "created_at": to_iso(created), "system": system,
                **({"rerun_of": rerun_of} if rerun_of is not None else {}), **({"tags": tags} if tags else {})}
        check_head(head, StorageError)  # what is saved must import again
        row = {"id": sid, "title": title, "system": system, "created_at": created, "updated_at": now(),
               "rerun_of": rerun_of, "tags": dumps(tags) if tags else None, "votes": None}
        with translated("create the session"), transaction(self.engine, write=True) as conn:
            if session_id and conn.execute(select(SESSIONS.c.id).where(SESSIONS.c.id == sid)).first():
                raise StorageError(f"session {sid} exists already")
            conn.execute(insert(SESSIONS).values(pg_safe(conn, row)))
        return sid

    @_one_split
    def start_turn(
        self, session_id: str, *, prompt: str, outputs: list[dict[str, Any]],
        created_at: datetime | str | None = None,
    ) -> int:
        """Write a new turn and its outputs (normally `running`) at once; returns the turn index.

        `created_at` is the turn's time as the caller's document has it (default: now).
        """
        if not isinstance(prompt, str):
            raise StorageError("prompt must be a string")
        created = to_datetime(created_at, "created_at") or now()
        check_turn(prompt, to_iso(created), "turn", StorageError)
        full = [self._checked(o, f"lane {lane}") for lane, o in enumerate(outputs)]
        pending: dict[str, int] = {}
        with translated("start the turn"), transaction(self.engine, write=True) as conn:
            index = insert_turn(conn, self.specs, session_id, prompt, created, full, str(self.writer), pending)
        self.specs.remember(pending)
        self.indexing.saved(o["status"] for o in full)
        return index

    def update_output(self, session_id: str, turn_index: int, lane: int, output: dict[str, Any]) -> None:
        """Replace one lane's output: a flush of the text so far, or its final record."""
        self.update_outputs(session_id, turn_index, {lane: output})

    @_one_split
    def update_outputs(self, session_id: str, turn_index: int, outputs: dict[int, dict[str, Any]]) -> None:
        """Replace several lanes' outputs of one turn in one transaction (a flush of every lane)."""
        full = {lane: self._checked(o, f"lane {lane}", flush=True) for lane, o in outputs.items()}
        pending: dict[str, int] = {}
        with translated("save the output"), transaction(self.engine, write=True) as conn:
            if conn.dialect.name == "postgresql" and all(o["status"] == "running" for o in full.values()):
                # A mid-stream flush is superseded within seconds: don't wait for the server's fsync
                # (only a crash of the database server itself could lose it; final records do wait).
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            turn_id = conn.execute(_TURN_ID, {"sid": session_id, "idx": turn_index}).scalar()
            lanes = set(conn.execute(_LANES, {"turn_id": turn_id}).scalars()) if turn_id is not None else set()
            for lane, output in full.items():
                if lane not in lanes:
                    raise NotFound(f"no lane {lane} in turn {turn_index} of session {session_id}")
                values = {**output_columns(output), "spec_id": self.specs.id_of(conn, output, pending),
                          "updated_at": now(), "writer": str(self.writer)}
                statement = _UPDATE_OUTPUT_TOKENS if "tokens" in values else _UPDATE_OUTPUT
                conn.execute(statement, {**pg_safe(conn, values), "w_turn": turn_id, "w_lane": lane})
        self.specs.remember(pending)
        self.indexing.saved(o["status"] for o in full.values())

    def set_votes(self, session_id: str, votes: list[dict[str, Any]]) -> None:
        """Store the session's optional `votes` list (replacing any earlier one; [] removes the field)."""
        if not isinstance(votes, list) or not all(isinstance(v, dict) for v in votes):
            raise StorageError("votes must be a list of dicts")
        if find_secret(votes, "votes"):
            raise StorageError(f"{find_secret(votes, 'votes')} looks like a credential; not stored")
        with translated("save the votes"), transaction(self.engine, write=True) as conn:
            lanes = battles.lane_models(conn, session_id)
            if lanes is None:
                raise NotFound(f"no session {session_id}")
            check_votes(votes, lanes, StorageError)  # the turns and lanes they name, as stored now
            conn.execute(
                update(SESSIONS).where(SESSIONS.c.id == session_id).values(votes=dumps(votes) if votes else None, updated_at=now())
            )

    def voted_sessions(self) -> list[dict[str, Any]]:
        """Every session with votes: id, created_at, tags, votes (for the arena's leaderboard)."""
        with transaction(self.engine, write=False) as conn:
            return battles.voted_sessions(conn)

    def tagged_sessions(self, tag: str) -> list[dict[str, Any]]:
        """Every session tagged ``tag``, however old: id, tags, votes, turns (how many)."""
        with translated("read tagged sessions"), transaction(self.engine, write=False) as conn:
            return battles.tagged_sessions(conn, tag)

    def add_imported_battles(self, rows: list[str]) -> int:
        """Keep battles read from an arena battle file (JSON rows), all or none."""
        with translated("import the battles"), transaction(self.engine, write=True) as conn:
            return battles.add_battles(conn, rows)

    def imported_battles(self) -> list[str]:
        with transaction(self.engine, write=False) as conn:
            return battles.battles(conn)

    def delete_session(self, session_id: str) -> None:
        with translated("delete the session"), transaction(self.engine, write=True) as conn:
            if conn.execute(delete(SESSIONS).where(SESSIONS.c.id == session_id)).rowcount == 0:
                raise NotFound(f"no session {session_id}")

    def import_document(self, doc_or_text: str | bytes | dict[str, Any]) -> str:
        """Store a `playground.session/1` document, all or nothing; returns its id in this store.

        The document may come as JSON text or as an HTML export (its embedded document is taken).
        The document's id is kept unless a session has it already; then the copy gets a new one.
        """
        return self._import(doc_or_text, reuse=False)[0]

    def import_or_open(self, doc_or_text: str | bytes | dict[str, Any]) -> tuple[str, bool]:
        """Like `import_document`, but a document that is here already is not copied: returns
        (its id, False). "Here already" means a session with the same id and the same content
        (`queries.content_key`: title, system prompt, prompts, each lane's model, label, status and
        answer). A session with that id but other content (it went on after the export, or the file
        was edited) is kept, and the file is imported beside it under a new id: (new id, True)."""
        return self._import(doc_or_text, reuse=True)

    @_one_split
    def _import(self, doc_or_text: str | bytes | dict[str, Any], *, reuse: bool) -> tuple[str, bool]:
        doc = parse(embedded_document(doc_or_text))
        validate(doc)
        created = to_datetime(doc["created_at"])
        pending: dict[str, int] = {}
        with translated("import the session"), transaction(self.engine, write=True) as conn:
            sid = doc["id"]
            if conn.execute(select(SESSIONS.c.id).where(SESSIONS.c.id == sid)).first():
                if reuse and queries.same_session(conn, doc):
                    return sid, False
                sid = str(ULID())
            conn.execute(insert(SESSIONS).values(pg_safe(conn, {
                "id": sid, "title": doc["title"], "system": doc["system"], "created_at": created,
                "updated_at": now(), "rerun_of": doc.get("rerun_of"),
                "tags": dumps(doc["tags"]) if "tags" in doc else None,
                "votes": dumps(doc["votes"]) if "votes" in doc else None,
            })))
            for turn in doc["turns"]:
                outputs = [complete_output(o) for o in turn["outputs"]]
                insert_turn(conn, self.specs, sid, turn["prompt"], to_datetime(turn["created_at"]), outputs, None,
                            pending)
        self.specs.remember(pending)
        self.indexing.saved()
        return sid, True

    # -- reads -------------------------------------------------------------------------------

    def get_session(self, session_id: str) -> dict[str, Any]:
        """The session as its export document (`playground.session/1`)."""
        with translated("read the session"), transaction(self.engine, write=False) as conn:
            return queries.load_document(conn, session_id)

    export_document = get_session

    def list_sessions(
        self, *, limit: int = 50, offset: int = 0, model: str | None = None,
        since: datetime | str | None = None, until: datetime | str | None = None,
    ) -> list[dict[str, Any]]:
        """Summaries of the newest sessions: id, title, created_at, models, turns, statuses, ..."""
        stmt = queries.filtered(select(SESSIONS.c.id), model=model, since=to_datetime(since, "since"),
                                until=to_datetime(until, "until"))
        with translated("list sessions"), transaction(self.engine, write=False) as conn:
            ids = list(conn.execute(queries.newest(stmt, limit, offset)).scalars())
            return queries.summaries(conn, ids)

    def search(
        self, query: str, *, model: str | None = None, since: datetime | str | None = None,
        until: datetime | str | None = None, limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Sessions holding every term of `query` (a word's start in a prompt or an answer, or any
        part of the title: storage/search.py), newest first."""
        stmt = queries.filtered(select(SESSIONS.c.id), model=model, since=to_datetime(since, "since"),
                                until=to_datetime(until, "until"))
        with translated("search"), transaction(self.engine, write=False) as conn:
            where = search.session_filter(conn, query)
            if where is None:
                return []
            ids = list(conn.execute(queries.newest(stmt.where(where), limit)).scalars())
            rows = queries.summaries(conn, ids)
            return search.with_snippets(rows, search.snippets(conn, query, ids))

    def model_stats(self, *, model: str | None = None) -> list[dict[str, Any]]:
        """Per output: model, label, status, ttft_ms, total_ms, tokens_per_s, cost_usd, created_at."""
        with translated("read model stats"), transaction(self.engine, write=False) as conn:
            return queries.model_stats(conn, model)

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def _checked(output: dict[str, Any], where: str, *, flush: bool = False) -> dict[str, Any]:
        full = complete_output(output)
        check_output(full, where, StorageError, flush=flush and full["status"] == "running")
        return full


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)
