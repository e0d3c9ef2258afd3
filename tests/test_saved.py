"""Saved = seen: a lane's record is final (status, finish reason, last chunk) before any front end
is told the lane ended, and no flush ever lands after a lane's final record. Real scripted servers
on 127.0.0.1, a real store (SQLite, and PostgreSQL where configured), the page's real API."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from playground.api import Comparison
from playground.engine.run import LaneEnd
from playground.engine.runtime import Runtime
from playground.session.recorder import Recorder
from playground.settings import Settings
from playground.testing import Reply, ScriptedServer, free_port
from playground.testing.load import CHUNKS, lane_models, lane_settings, load
from playground.web.serve import start, stop
from storage import Store

TEXT = "".join(CHUNKS)


class GatedStore(Store):
    """A real store whose first mid-stream flush waits at a gate the test opens: a slow write
    (a busy database, a long fsync) held for as long as the test needs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate, self.entered, self.left = threading.Event(), threading.Event(), threading.Event()
        self._armed = True

    def update_outputs(self, session_id: str, turn_index: int, outputs: dict[int, dict[str, Any]]) -> None:
        gated = self._armed and all(o["status"] == "running" and o["text"] for o in outputs.values())
        self._armed = self._armed and not gated
        if gated:
            self.entered.set()
            self.gate.wait(10)
        try:
            super().update_outputs(session_id, turn_index, outputs)
        finally:
            if gated:
                self.left.set()


@pytest.fixture
async def runtime(server: ScriptedServer, tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings.load(env={"PLAYGROUND_HOME": str(tmp_path), "OPENAI_API_KEY": "sk-test-saved-0123456789",
                                  "OPENAI_BASE_URL": server.base_url("openai")}, cwd=tmp_path)
    rt = Runtime(settings)
    yield rt
    await rt.aclose()


async def test_a_flush_in_flight_when_the_lane_ends_never_lands_after_its_final_record(
        server: ScriptedServer, runtime: Runtime, store_url: str) -> None:
    server.default = Reply(chunks=CHUNKS, delay=0.03)
    store = GatedStore.open(store_url)
    try:
        comp = Comparison(runtime, ["openai:a"], "go", recorder=Recorder(store, flush_s=0.05))
        run = asyncio.create_task(_drain(comp))
        assert await asyncio.to_thread(store.entered.wait, 5), "no mid-stream flush was written"
        await asyncio.wait([run], timeout=0.8)  # the lane ends (0.3 s) while its flush is held
        assert comp.output_lanes()[0].done
        store.gate.set()
        await run
        assert await asyncio.to_thread(store.left.wait, 5)
        saved = store.get_session(comp.document["id"])["turns"][0]["outputs"][0]
    finally:
        store.gate.set()
        store.close()
    assert (saved["status"], saved["finish_reason"], saved["text"]) == ("ok", "stop", TEXT)
    assert len(saved["timeline"]) == len(CHUNKS)


async def _drain(comp: Comparison) -> None:
    async for _ in comp.events():
        pass


async def test_every_lane_is_saved_final_before_its_end_is_seen(
        server: ScriptedServer, runtime: Runtime, store: Store) -> None:
    """Through the Python API: at each event, a lane whose status (what the page, the API and the
    CLI draw) says it ended, and a lane whose LaneEnd arrives, is already saved that way."""
    server.default = Reply(chunks=CHUNKS, delay=0.01)
    comp = Comparison(runtime, ["openai:a", "openai:b", "openai:c"], "go", recorder=Recorder(store))
    checks = 0
    async for ev in comp.events():
        states = comp.output_lanes()
        ended = {i for i, lane in enumerate(states) if lane.status in ("ok", "error", "cancelled")}
        if isinstance(ev.event, LaneEnd):
            ended.add(ev.lane)
        if not ended:
            continue
        saved = store.get_session(comp.document["id"])["turns"][0]["outputs"]
        for i in ended:
            assert (saved[i]["status"], saved[i]["text"], saved[i]["finish_reason"]) == ("ok", TEXT, "stop"), i
            checks += 1
    assert checks >= 3


@pytest.fixture
def lane_servers() -> Iterator[list[ScriptedServer]]:
    """Four servers, one per lane, streaming the same 10 chunks at different paces (0.2–0.8 s):
    the page's frames show some lanes ended while the others stream."""
    servers = [ScriptedServer().start() for _ in range(4)]
    for i, server in enumerate(servers):
        server.default = Reply(chunks=CHUNKS, delay=0.02 * (i + 1))
    yield servers
    for server in servers:
        server.stop()


def test_concurrent_clients_through_the_page_api_lose_nothing(
        lane_servers: list[ScriptedServer], store_url: str, tmp_path: Path) -> None:
    """16 clients × 4 lanes on /compare at once, served on 127.0.0.1: every lane saved ok with all
    10 chunks and its finish reason, and none shown ended before it was saved so."""
    settings = lane_settings(tmp_path, [s.base_url("openai") for s in lane_servers], store_url)
    demo, ctx, url = start(settings, port=free_port())
    reader = Store.open(store_url)  # another process's view of the database (as the CLI's would be)
    try:
        asyncio.run(load(url, lane_models(4), clients=1, store=reader))  # the page's first call is slow
        report = asyncio.run(load(url, lane_models(4), clients=16, store=reader))
    finally:
        reader.close()
        stop(demo, ctx)
    assert report.errors == []
    assert report.lanes == 16 * 4
    assert (report.lanes_running, report.chunks_lost, report.lanes_wrong, report.seen_unsaved) == (0, 0, 0, 0)
