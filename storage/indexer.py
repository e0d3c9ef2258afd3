"""PostgreSQL: answers are indexed for search just after they are saved, not while.

Computing an answer's `english` tsvector and adding its words to the GIN index costs ~2-4 ms per
10,000 characters on the server: most of a final save of 8 long answers. So on PostgreSQL
`outputs.search` is an ordinary column (migration 4) that a write leaves NULL (a trigger clears it
whenever the text changes), and a background thread per store fills it in right after the commit,
for every output that is no longer `running`.

Search never depends on that thread's timing: a row whose `search` is still NULL is matched on
the fly (`COALESCE(search, to_tsvector(...))`; a partial index finds those rows), so a session is
found the moment it is saved, and also while its lanes are still streaming. Several processes may
index one database at once (`FOR UPDATE SKIP LOCKED`); rows a process left unindexed (killed
before its thread ran) are picked up by the next store that opens the database.

SQLite keeps its FTS5 word index in triggers (~1 ms per 10,000 characters, in-process); its
trigram index for parts inside words (migration 6) is filled here the same way, just after the
save: a final answer waits in `outputs_tri_pending` (search reads its text meanwhile).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, text

from storage.db import transaction

log = logging.getLogger(__name__)

VECTOR = "to_tsvector('english', left({col}, 100000))"  # tsvector is capped at 1 MB
BATCH = 50  # outputs indexed per transaction
_INDEX = text(
    f"UPDATE outputs SET search = {VECTOR.format(col='text')} WHERE id IN ("
    "SELECT id FROM outputs WHERE search IS NULL AND status <> 'running' "
    f"ORDER BY id LIMIT {BATCH} FOR UPDATE SKIP LOCKED)"
)


_SQLITE_WAITING = text(f"SELECT id FROM outputs_tri_pending ORDER BY id LIMIT {BATCH}")


def _index_sqlite(conn: Any) -> int:
    """Move up to BATCH waiting answers into the trigram index; how many were waiting."""
    ids = list(conn.execute(_SQLITE_WAITING).scalars())
    if ids:
        marks = ", ".join(str(int(i)) for i in ids)  # integers read from the table
        conn.exec_driver_sql("INSERT INTO outputs_tri (rowid, text) SELECT id, text FROM outputs "
                             f"WHERE id IN ({marks}) AND status <> 'running'")
        conn.exec_driver_sql(f"DELETE FROM outputs_tri_pending WHERE id IN ({marks})")
    return len(ids)


def index_pending(engine: Engine) -> int:
    """Index every saved output still waiting for it; returns how many were indexed."""
    done = 0
    sqlite = engine.dialect.name == "sqlite"
    while True:
        with transaction(engine, write=True) as conn:
            if sqlite:
                count = _index_sqlite(conn)
            else:
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")  # rebuilt from the text if lost
                count = conn.execute(_INDEX).rowcount
        done += count
        if count < BATCH:
            return done


class Indexer:
    """A daemon thread that runs ``index_pending`` whenever ``poke()``d; ``close()`` drains it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cond = threading.Condition()
        self._asked = self._done = 0  # pokes so far, and how many of them a finished pass covered
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name="playground-search-indexer", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        with self._cond:
            self._asked += 1
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until everything poked so far is indexed; False on timeout."""
        with self._cond:
            target = self._asked
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Index what is pending (up to ``timeout``), then stop the thread."""
        with self._cond:
            self._closing = True
            self._asked += 1
            self._cond.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._asked > self._done)
                target, closing = self._asked, self._closing
            try:
                index_pending(self.engine)
            except Exception as exc:  # noqa: BLE001 - search still finds unindexed rows, only slower
                log.warning("search indexing failed (retried on the next save): %s", " ".join(str(exc).split())[:300])
            with self._cond:
                self._done = target
                self._cond.notify_all()
            if closing:
                return


class Indexing:
    """One store's search indexing: an `Indexer` started by the first save that needs it (PostgreSQL:
    the word index and the trigrams; SQLite: the trigrams, its word index being in the transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._indexer: Indexer | None = None
        self._paused = False

    @property
    def active(self) -> bool:
        return self.engine.dialect.name in ("postgresql", "sqlite")

    def saved(self, statuses: Iterable[str] | None = None) -> None:
        """Have the answers just committed indexed, unless every one of ``statuses`` is still
        `running` (its text changes within a second). None: whatever waits (e.g. after an import)."""
        if not self.active or self._paused:
            return
        if statuses is not None and all(s == "running" for s in statuses):
            return
        with self._lock:
            if self._indexer is None:
                self._indexer = Indexer(self.engine)
            indexer = self._indexer
        indexer.poke()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every answer saved so far is indexed; False on timeout."""
        indexer = self._indexer
        return indexer.wait(timeout) if indexer else True

    def pause(self) -> None:
        """Index what is pending, then leave later saves unindexed until `resume()`: for tools and
        tests that look at the database between a save and its indexing (search still finds the
        unindexed answers, matching their text on the fly)."""
        with self._lock:
            self._paused = True
            indexer, self._indexer = self._indexer, None
        if indexer:
            indexer.close()

    def resume(self) -> None:
        """Index again after each save, starting with what was saved while paused."""
        self._paused = False
        self.saved()

    def close(self) -> None:
        """Index what is pending and stop the thread (the store is closing)."""
        with self._lock:
            indexer, self._indexer = self._indexer, None
        if indexer:
            indexer.close()
