"""Saving a turn while it streams, so nothing a user saw is lost.

The turn is written when it starts (every output ``running``), each lane's partial output is
flushed at most every ``FLUSH_S`` while it streams, and each lane is written in full as it
ends. A kill mid-run therefore loses at most the last ``FLUSH_S`` of text; the next start
marks those outputs ``interrupted``. One second keeps the write load to a few small
transactions per second whatever the number of lanes, which SQLite in WAL mode shrugs off.

The store is synchronous; its calls run in a worker thread so the event loop keeps streaming.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

FLUSH_S = 1.0


class Recorder:
    def __init__(self, store: Any, flush_s: float = FLUSH_S) -> None:
        self.store = store
        self.flush_s = flush_s
        self.session_id: str | None = None
        self._turn = 0
        self._dirty: set[int] = set()
        self._snapshot: Callable[[int], dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.failed: str | None = None

    async def begin(self, doc: dict[str, Any], turn_index: int,
                    snapshot: Callable[[int], dict[str, Any]]) -> None:
        self.session_id, self._turn, self._snapshot = doc["id"], turn_index, snapshot
        turn = doc["turns"][turn_index]
        await asyncio.to_thread(self._begin_sync, doc, turn)
        self._task = asyncio.create_task(self._flusher())

    def _begin_sync(self, doc: dict[str, Any], turn: dict[str, Any]) -> None:
        if self._turn == 0:
            self.store.create_session(title=doc["title"], system=doc.get("system"),
                                      tags=doc.get("tags", ()), rerun_of=doc.get("rerun_of"),
                                      session_id=doc["id"], created_at=doc["created_at"])
        self.store.start_turn(doc["id"], prompt=turn["prompt"], outputs=turn["outputs"],
                              created_at=turn["created_at"])

    def touch(self, output_index: int) -> None:
        self._dirty.add(output_index)

    async def _flusher(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self._flush()

    async def _flush(self, final: dict[int, dict[str, Any]] | None = None) -> None:
        if final is None:
            dirty, self._dirty = self._dirty, set()
            outputs = {i: self._snapshot(i) for i in sorted(dirty)} if self._snapshot else {}
        else:
            outputs = final
        if not outputs:
            return
        try:
            await asyncio.to_thread(self._write, outputs)
        except Exception as exc:  # noqa: BLE001 - a failed save must not stop the lanes
            self.failed = f"could not save: {exc}"
            log.warning("%s", self.failed)

    def _write(self, outputs: dict[int, dict[str, Any]]) -> None:
        self.store.update_outputs(self.session_id, self._turn, outputs)  # one transaction

    async def finish(self, outputs: list[dict[str, Any]]) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._dirty.clear()
        await asyncio.shield(self._flush(dict(enumerate(outputs))))


def open_store(settings: Any) -> Any:
    """The store of these settings: ``PLAYGROUND_DATABASE_URL`` or SQLite in the home."""
    from storage import Store

    return Store.open(settings.database_url, home=settings.home)
