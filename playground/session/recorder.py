"""Saving a turn while it streams, so nothing a user saw is lost, and nothing is shown ended unsaved.

The turn is written when it starts (every output ``running``), each lane's partial output is
flushed at most every ``FLUSH_S`` while it streams, and each lane's final record (status, finish
reason, last chunk) is written as it ends: the engine waits for ``ended(lane)`` before any view can
see that the lane ended, and ``finish`` returns once every lane's final record is committed. A kill
mid-run therefore loses at most the last ``FLUSH_S`` of text; the next start marks those outputs
``interrupted``.

One writer task per turn does every write, one after the other, each from snapshots taken just
before it: a flush in flight when a lane ends is waited for, never cancelled half way (its thread
would go on and could commit its older snapshot after the final record — the audit's "done and ok,
saved running, one chunk short"). Lanes whose final record is committed are never flushed again,
and ``_write`` refuses any snapshot older than one already written, whatever the threads do.

The store is synchronous; its calls run in a worker thread so the event loop keeps streaming.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playground.settings import Settings
    from storage import Store

log = logging.getLogger(__name__)

FLUSH_S = 1.0  # a few small transactions per second whatever the number of lanes


class Recorder:
    def __init__(self, store: Store, flush_s: float = FLUSH_S) -> None:
        self.store = store
        self.flush_s = flush_s
        self.session_id: str | None = None
        self._turn = 0
        self._snapshot: Callable[[int], dict[str, Any]] | None = None
        self._dirty: set[int] = set()  # lanes with text since their last write
        self._ending: dict[int, asyncio.Future[None]] = {}  # lanes ended, final record not yet written
        self._saved: set[int] = set()  # lanes whose final record is committed
        self._last: dict[int, dict[str, Any]] | None = None  # finish(): every lane's final record
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seq = 0  # snapshots taken so far; _written says which one each lane holds
        self._written: dict[int, int] = {}
        self._order = threading.Lock()
        self.failed: str | None = None

    async def begin(self, doc: dict[str, Any], turn_index: int,
                    snapshot: Callable[[int], dict[str, Any]]) -> None:
        self.session_id, self._turn, self._snapshot = doc["id"], turn_index, snapshot
        turn = doc["turns"][turn_index]
        await asyncio.to_thread(self._begin_sync, doc, turn)
        self._task = asyncio.create_task(self._writer(), name=f"recorder-{doc['id']}")

    def _begin_sync(self, doc: dict[str, Any], turn: dict[str, Any]) -> None:
        if self._turn == 0:
            self.store.create_session(title=doc["title"], system=doc.get("system"),
                                      tags=doc.get("tags", ()), rerun_of=doc.get("rerun_of"),
                                      session_id=doc["id"], created_at=doc["created_at"])
        self.store.start_turn(doc["id"], prompt=turn["prompt"], outputs=turn["outputs"],
                              created_at=turn["created_at"])

    def touch(self, output_index: int) -> None:
        if output_index not in self._saved:
            self._dirty.add(output_index)

    async def ended(self, output_index: int) -> None:
        """Write that lane's final record (its snapshot now) and return once it is committed, or
        once the write failed (``failed`` says why; ``finish`` tries it again)."""
        if self._task is None or self._task.done() or self._last is not None:
            return
        waiter = self._ending.get(output_index)
        if waiter is None:
            waiter = self._ending[output_index] = asyncio.get_running_loop().create_future()
        self._wake.set()
        await asyncio.shield(waiter)  # a cancelled caller leaves the write to finish()

    async def finish(self, outputs: list[dict[str, Any]]) -> None:
        """Write every lane's final record not committed yet, after any write in flight; returns
        once they are committed (or failed: ``failed``)."""
        self._last = dict(enumerate(outputs))
        if self._task is None:
            return
        self._wake.set()
        await asyncio.shield(self._task)  # a cancelled caller must not cut the last write short

    async def _writer(self) -> None:
        while True:
            if not self._ending and self._last is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.flush_s)
            self._wake.clear()
            last, ending = self._last, self._ending
            self._ending = {}
            if last is not None:
                outputs = {i: o for i, o in last.items() if i not in self._saved}
            else:
                lanes = (self._dirty | ending.keys()) - self._saved
                outputs = {i: self._snapshot(i) for i in sorted(lanes)} if self._snapshot else {}
            self._dirty = set()
            final = {i for i, o in outputs.items() if o["status"] != "running"}
            if outputs and await self._save(outputs):
                self._saved |= final
            for waiter in ending.values():
                if not waiter.done():
                    waiter.set_result(None)
            if last is not None:
                return

    async def _save(self, outputs: dict[int, dict[str, Any]]) -> bool:
        self._seq += 1
        try:
            await asyncio.to_thread(self._write, self._seq, outputs)
        except Exception as exc:  # noqa: BLE001 - a failed save must not stop the lanes
            self.failed = f"could not save: {exc}"
            log.warning("%s", self.failed)
            return False
        return True

    def _write(self, seq: int, outputs: dict[int, dict[str, Any]]) -> None:
        """One transaction; a lane already holding a newer snapshot keeps it."""
        with self._order:
            fresh = {i: o for i, o in outputs.items() if self._written.get(i, 0) < seq}
            if fresh:
                self.store.update_outputs(self.session_id, self._turn, fresh)
                self._written.update(dict.fromkeys(fresh, seq))


def open_store(settings: Settings) -> Store:
    """The store of these settings: ``PLAYGROUND_DATABASE_URL`` or SQLite in the home."""
    from storage import Store

    return Store.open(settings.database_url, home=settings.home)
