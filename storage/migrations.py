"""Numbered schema migrations, recorded in `schema_migrations`.

A migration is a number, a name and a function of a connection. Each is written once and never
edited: it holds its own DDL (not the current table classes), so a database made by any earlier
release is brought forward step by step by any later one. `migrate` runs the pending ones in one
transaction, under a lock (SQLite's write lock, a PostgreSQL advisory lock), so two processes
opening a new database at once migrate it once. A database newer than this code is refused.

    1  tables: sessions, turns, model_specs, outputs
    2  full-text search: SQLite FTS5 tables kept by triggers; PostgreSQL tsvector columns + GIN
    3  arena_battles: battles imported from arena battle files
    4  PostgreSQL: answers indexed for search just after they are saved (storage/indexer.py)
    5  outputs.tokens: token probabilities, packed (storage/codec.py pack_tokens)
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, insert, text

from storage.codec import now
from storage.db import transaction
from storage.errors import StorageError
from storage.tables import MIGRATIONS as MIGRATIONS_TABLE

_LOCK_ID = 0x504C4159  # "PLAY": the PostgreSQL advisory lock taken while migrating

_TABLES = """
CREATE TABLE sessions (
    id VARCHAR(26) NOT NULL PRIMARY KEY,
    title TEXT NOT NULL,
    system TEXT,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    rerun_of VARCHAR(26),
    tags TEXT,
    votes TEXT
);
CREATE INDEX ix_sessions_created ON sessions (created_at, id);
CREATE INDEX ix_sessions_rerun_of ON sessions (rerun_of);
CREATE TABLE turns (
    id {pk},
    session_id VARCHAR(26) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    created_at {ts} NOT NULL,
    CONSTRAINT uq_turns_session_idx UNIQUE (session_id, idx)
);
CREATE TABLE model_specs (
    id {pk},
    key VARCHAR(64) NOT NULL UNIQUE,
    model TEXT NOT NULL,
    label TEXT,
    params TEXT NOT NULL,
    first_used_at {ts} NOT NULL
);
CREATE INDEX ix_model_specs_model ON model_specs (model);
CREATE TABLE outputs (
    id {pk},
    session_id VARCHAR(26) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    turn_id INTEGER NOT NULL REFERENCES turns (id) ON DELETE CASCADE,
    lane INTEGER NOT NULL,
    spec_id INTEGER NOT NULL REFERENCES model_specs (id),
    text TEXT NOT NULL,
    status VARCHAR(16) NOT NULL,
    error TEXT,
    finish_reason TEXT,
    metrics TEXT NOT NULL,
    server_metrics TEXT NOT NULL,
    timeline {blob} NOT NULL,
    extra TEXT,
    ttft_ms DOUBLE PRECISION,
    total_ms DOUBLE PRECISION,
    tokens_per_s DOUBLE PRECISION,
    cost_usd DOUBLE PRECISION,
    output_tokens INTEGER,
    created_at {ts} NOT NULL,
    updated_at {ts} NOT NULL,
    writer TEXT,
    CONSTRAINT uq_outputs_turn_lane UNIQUE (turn_id, lane)
);
CREATE INDEX ix_outputs_session ON outputs (session_id);
CREATE INDEX ix_outputs_spec_created ON outputs (spec_id, created_at);
CREATE INDEX ix_outputs_status ON outputs (status);
"""

_SQLITE_FTS = """
CREATE VIRTUAL TABLE {table}_fts USING fts5({col}, content='{table}', content_rowid='id', tokenize='porter unicode61');
CREATE TRIGGER {table}_fts_insert AFTER INSERT ON {table} BEGIN
    INSERT INTO {table}_fts (rowid, {col}) VALUES (new.id, new.{col});
END;
CREATE TRIGGER {table}_fts_delete AFTER DELETE ON {table} BEGIN
    INSERT INTO {table}_fts ({table}_fts, rowid, {col}) VALUES ('delete', old.id, old.{col});
END;
CREATE TRIGGER {table}_fts_update AFTER UPDATE OF {col} ON {table} WHEN old.{col} IS NOT new.{col} BEGIN
    INSERT INTO {table}_fts ({table}_fts, rowid, {col}) VALUES ('delete', old.id, old.{col});
    INSERT INTO {table}_fts (rowid, {col}) VALUES (new.id, new.{col});
END;
INSERT INTO {table}_fts ({table}_fts) VALUES ('rebuild');
"""

# tsvector is capped at 1 MB; indexing the first 100,000 characters keeps a long answer writable.
_POSTGRES_FTS = """
ALTER TABLE {table} ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', left({col}, 100000))) STORED;
CREATE INDEX ix_{table}_search ON {table} USING GIN (search);
"""


def _run(conn: Connection, script: str) -> None:
    # Split on statement ends outside trigger bodies (which end with "END;").
    statement: list[str] = []
    for line in script.strip().splitlines():
        statement.append(line)
        stripped = line.strip()
        in_trigger = statement[0].lstrip().upper().startswith("CREATE TRIGGER")
        if stripped.endswith(";") and (not in_trigger or stripped.upper() == "END;"):
            conn.exec_driver_sql("\n".join(statement))
            statement = []


def _m1_tables(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        _run(conn, _TABLES.format(ts="DATETIME", pk="INTEGER NOT NULL PRIMARY KEY", blob="BLOB"))
    else:
        _run(conn, _TABLES.format(ts="TIMESTAMP WITHOUT TIME ZONE", pk="SERIAL PRIMARY KEY", blob="BYTEA"))


def _m2_search(conn: Connection) -> None:
    script = _SQLITE_FTS if conn.dialect.name == "sqlite" else _POSTGRES_FTS
    for table, col in (("outputs", "text"), ("turns", "prompt")):
        _run(conn, script.format(table=table, col=col))


def _m3_battles(conn: Connection) -> None:
    ts, pk = (("DATETIME", "INTEGER NOT NULL PRIMARY KEY") if conn.dialect.name == "sqlite"
              else ("TIMESTAMP WITHOUT TIME ZONE", "SERIAL PRIMARY KEY"))
    conn.exec_driver_sql(f"CREATE TABLE arena_battles (id {pk}, row TEXT NOT NULL, imported_at {ts} NOT NULL)")


# Written once, like every migration: the expression is the one of storage/indexer.py at the time.
_POSTGRES_DEFERRED_FTS = [
    "ALTER TABLE outputs DROP COLUMN search",
    "ALTER TABLE outputs ADD COLUMN search tsvector",
    "UPDATE outputs SET search = to_tsvector('english', left(text, 100000)) WHERE status <> 'running'",
    "CREATE INDEX ix_outputs_search ON outputs USING GIN (search)",
    "CREATE INDEX ix_outputs_unindexed ON outputs (id) WHERE search IS NULL",
    "CREATE FUNCTION outputs_search_stale() RETURNS trigger LANGUAGE plpgsql AS "
    "'BEGIN NEW.search := NULL; RETURN NEW; END'",
    "CREATE TRIGGER outputs_search_stale BEFORE UPDATE OF text ON outputs FOR EACH ROW "
    "WHEN (OLD.text IS DISTINCT FROM NEW.text) EXECUTE FUNCTION outputs_search_stale()",
]


def _m4_deferred_search(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        for statement in _POSTGRES_DEFERRED_FTS:
            conn.exec_driver_sql(statement)


def _m5_tokens(conn: Connection) -> None:
    blob = "BLOB" if conn.dialect.name == "sqlite" else "BYTEA"
    conn.exec_driver_sql(f"ALTER TABLE outputs ADD COLUMN tokens {blob}")


# Substring search (a part inside a word: "oon" finds "Moon"): SQLite, a trigram FTS5 index of the
# prompts and of the final answers; PostgreSQL, pg_trgm's trigram GIN indexes for ILIKE (only where
# the extension can be created: without them ILIKE still works, reading the texts). An answer's
# trigrams are indexed just after its final save, not in it (storage/indexer.py, as PostgreSQL's
# tsvector): 8 long answers' trigrams tripled a save on SQLite. SQLite: a final answer waits in
# outputs_tri_pending until the indexer moves it into outputs_tri (which keeps its own copy of the
# text, so a row leaves it by its id alone); PostgreSQL: the partial index holds the rows the
# indexer has given a `search` vector. Search reads the waiting rows' texts meanwhile.
_SQLITE_TRIGRAM = """
CREATE VIRTUAL TABLE outputs_tri USING fts5(text, tokenize='trigram');
CREATE TABLE outputs_tri_pending (id INTEGER NOT NULL PRIMARY KEY);
CREATE TRIGGER outputs_tri_insert AFTER INSERT ON outputs WHEN new.status <> 'running' BEGIN
    INSERT OR IGNORE INTO outputs_tri_pending (id) VALUES (new.id);
END;
CREATE TRIGGER outputs_tri_delete AFTER DELETE ON outputs BEGIN
    DELETE FROM outputs_tri WHERE rowid = old.id;
    DELETE FROM outputs_tri_pending WHERE id = old.id;
END;
CREATE TRIGGER outputs_tri_update AFTER UPDATE OF text, status ON outputs
WHEN old.text IS NOT new.text OR old.status IS NOT new.status BEGIN
    DELETE FROM outputs_tri WHERE rowid = old.id;
    INSERT OR IGNORE INTO outputs_tri_pending (id) SELECT new.id WHERE new.status <> 'running';
    DELETE FROM outputs_tri_pending WHERE id = old.id AND new.status = 'running';
END;
INSERT INTO outputs_tri_pending (id) SELECT id FROM outputs WHERE status <> 'running';
CREATE VIRTUAL TABLE turns_tri USING fts5(prompt, tokenize='trigram');
CREATE TRIGGER turns_tri_insert AFTER INSERT ON turns BEGIN
    INSERT INTO turns_tri (rowid, prompt) VALUES (new.id, new.prompt);
END;
CREATE TRIGGER turns_tri_delete AFTER DELETE ON turns BEGIN
    DELETE FROM turns_tri WHERE rowid = old.id;
END;
CREATE TRIGGER turns_tri_update AFTER UPDATE OF prompt ON turns WHEN old.prompt IS NOT new.prompt BEGIN
    DELETE FROM turns_tri WHERE rowid = old.id;
    INSERT INTO turns_tri (rowid, prompt) VALUES (new.id, new.prompt);
END;
INSERT INTO turns_tri (rowid, prompt) SELECT id, prompt FROM turns;
"""
_POSTGRES_TRIGRAM = [
    'CREATE INDEX ix_outputs_text_trgm ON outputs USING GIN (text "{ext}".gin_trgm_ops) WHERE search IS NOT NULL',
    'CREATE INDEX ix_turns_prompt_trgm ON turns USING GIN (prompt "{ext}".gin_trgm_ops)',
]


def _m6_substring_search(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        _run(conn, _SQLITE_TRIGRAM)
        return
    try:
        with conn.begin_nested():  # a role that may not create the extension: no index, still correct
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # noqa: BLE001 - any refusal means the same: search reads the texts
        return
    # the extension lives in one schema of the database (perhaps not this one's search path)
    ext = conn.exec_driver_sql("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                               "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'").scalar_one()
    for statement in _POSTGRES_TRIGRAM:
        conn.exec_driver_sql(statement.format(ext=ext.replace('"', '""')))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "tables", _m1_tables),
    (2, "full-text search", _m2_search),
    (3, "imported arena battles", _m3_battles),
    (4, "search indexed after the save", _m4_deferred_search),
    (5, "token probabilities", _m5_tokens),
    (6, "substring search", _m6_substring_search),
]
LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not conn.dialect.has_table(conn, "schema_migrations"):
        return 0
    return conn.execute(text("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")).scalar_one()


def migrate(engine: Engine, *, upto: int = LATEST) -> list[int]:
    """Apply the pending migrations up to `upto`; returns the numbers applied (often none)."""
    with transaction(engine, write=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
        conn.exec_driver_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER NOT NULL PRIMARY KEY, name VARCHAR NOT NULL, applied_at "
            + ("DATETIME" if conn.dialect.name == "sqlite" else "TIMESTAMP WITHOUT TIME ZONE")
            + " NOT NULL)"
        )
        version = current_version(conn)
        if version > LATEST:
            raise StorageError(
                f"the database is at schema version {version}, newer than this release knows ({LATEST}); "
                "upgrade playground"
            )
        applied = []
        for number, name, step in MIGRATIONS:
            if version < number <= upto:
                step(conn)
                conn.execute(insert(MIGRATIONS_TABLE).values(version=number, name=name, applied_at=now()))
                applied.append(number)
        return applied
