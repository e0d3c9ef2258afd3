"""Load through the page's public API: concurrent clients, each running comparisons of 4 lanes on
``/compare`` and checking every lane against what its scripted server streamed and what the page
then serves as saved (``/session``). Shared by tests/test_load.py and bench/load.py.

    settings = lane_settings(home, [server.base_url("openai") for server in servers])
    demo, ctx, url = playground.web.serve.start(settings, port=free_port())
    report = asyncio.run(load(url, lane_models(4), clients=16, runs=2))
    assert report.lanes_running == report.chunks_lost == report.seen_unsaved == 0

Each lane's model is a named model (``lane0``, ``lane1``, …) on a server of its own, so lanes
end at different times and a client sees some lanes end while others stream. The moment a frame
first says a lane ended, the client reads the session back: a lane shown ended must be saved
ended ("seen unsaved" counts those that were not). It reads with ``read`` (a store on the page's
database: a read that does not queue behind the load, so it happens while the frame is fresh), or
else through ``/session``. Plain HTTP (httpx) on Gradio's call API: POST ``/gradio_api/call/compare``
gives an event id, GET on it streams the frames as server-sent events.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from playground.settings import Settings

if TYPE_CHECKING:
    from storage import Store

CHUNKS = tuple(f"w{k} " for k in range(10))  # what every scripted lane streams, as in the audit
ENDED = ("ok", "error", "cancelled", "interrupted")
KEY_ENV = "PLAYGROUND_LOAD_KEY"


def lane_models(lanes: int) -> list[str]:
    return [f"lane{i}" for i in range(lanes)]


def lane_settings(home: Path, base_urls: Sequence[str], database_url: str | None = None) -> Settings:
    """Settings whose models ``lane0…`` are OpenAI-protocol servers at ``base_urls`` (…/v1), saving
    to ``database_url`` (default: SQLite in ``home``)."""
    lines = []
    for i, base in enumerate(base_urls):
        lines += [f"[models.lane{i}]", 'provider = "openai"', f'base_url = "{base}"', 'model = "scripted"',
                  f'api_key_env = "{KEY_ENV}"', ""]
    (home / "playground.toml").write_text("\n".join(lines), encoding="utf-8")
    env = {"PLAYGROUND_HOME": str(home), KEY_ENV: "sk-load-0123456789"}
    if database_url:
        env["PLAYGROUND_DATABASE_URL"] = database_url
    return Settings.load(env=env, cwd=home)


class ApiError(Exception):
    """The page answered a call with an error (its message, as Gradio sent it)."""


async def call(client: httpx.AsyncClient, url: str, api: str, *data: Any) -> AsyncIterator[Any]:
    """Every output of one call of ``api`` (a streaming one yields each frame, the last one last)."""
    url = url.rstrip("/")
    started = await client.post(f"{url}/gradio_api/call/{api}", json={"data": list(data)})
    started.raise_for_status()
    event_id = started.json()["event_id"]
    async with client.stream("GET", f"{url}/gradio_api/call/{api}/{event_id}") as events:
        events.raise_for_status()
        kind = ""
        async for line in events.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                payload = line[5:].strip()
                if kind == "error":
                    raise ApiError(payload)
                if kind in ("generating", "complete") and payload not in ("", "null"):
                    yield json.loads(payload)[0]
                if kind == "complete":
                    return


async def call_one(client: httpx.AsyncClient, url: str, api: str, *data: Any) -> Any:
    outputs = [output async for output in call(client, url, api, *data)]
    return outputs[-1] if outputs else None


@dataclass
class RunResult:
    seconds: float  # from the call to its last frame
    lanes: int = 0
    running: int = 0  # saved lanes still `running` after the page said done
    lost: int = 0  # chunks streamed but not in the saved timeline
    wrong: int = 0  # saved lanes whose text or finish reason is not what was streamed
    unsaved: int = 0  # lanes a frame showed ended before the saved session said so
    errors: list[str] = field(default_factory=list)


Reader = Callable[[str], Awaitable[dict[str, Any]]]  # session id -> its saved document


async def one_run(client: httpx.AsyncClient, url: str, models: Sequence[str], prompt: str,
                  chunks: Sequence[str] = CHUNKS, read: Reader | None = None) -> RunResult:
    """One comparison through ``/compare``, checked against ``chunks`` and the saved session."""
    if read is None:
        async def read(session_id: str) -> dict[str, Any]:
            return await call_one(client, url, "session", session_id)
    t0 = time.perf_counter()
    checked: set[int] = set()
    unsaved = 0
    final: dict[str, Any] | None = None
    async for frame in call(client, url, "compare", prompt, list(models), "", None, None, None, ""):
        if frame["done"]:
            final = frame
            break
        shown = [i for i, lane in enumerate(frame["lanes"]) if lane["status"] in ENDED and i not in checked]
        if shown and frame["session_id"]:
            saved = (await read(frame["session_id"]))["turns"][-1]["outputs"]
            unsaved += sum(1 for i in shown if saved[i]["status"] != frame["lanes"][i]["status"])
            checked.update(shown)
    result = RunResult(seconds=time.perf_counter() - t0, unsaved=unsaved)
    if final is None:
        result.errors.append("the stream ended without a done frame")
        return result
    doc = await read(final["session_id"])
    text = "".join(chunks)
    for told, saved in zip(final["lanes"], doc["turns"][-1]["outputs"], strict=True):
        result.lanes += 1
        result.running += saved["status"] == "running"
        result.lost += max(0, len(chunks) - len(saved["timeline"]))
        result.wrong += saved["text"] != text or saved["finish_reason"] != "stop"
        if told["status"] != "ok" or told["text"] != text:
            result.errors.append(f"{told['model']}: told {told['status']} {told.get('error')}")
    return result


@dataclass
class LoadReport:
    runs: list[RunResult]

    def _sum(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.runs)

    @property
    def lanes(self) -> int:
        return self._sum("lanes")

    @property
    def lanes_running(self) -> int:
        return self._sum("running")

    @property
    def chunks_lost(self) -> int:
        return self._sum("lost")

    @property
    def lanes_wrong(self) -> int:
        return self._sum("wrong")

    @property
    def seen_unsaved(self) -> int:
        return self._sum("unsaved")

    @property
    def errors(self) -> list[str]:
        return [e for r in self.runs for e in r.errors]

    def percentile(self, p: float) -> float:
        """Completion time (s) at percentile ``p`` (0–100) over every run."""
        seconds = sorted(r.seconds for r in self.runs)
        if len(seconds) < 2:
            return seconds[0] if seconds else float("nan")
        return statistics.quantiles(seconds, n=100, method="inclusive")[min(98, max(0, round(p) - 1))]


async def load(url: str, models: Sequence[str], *, clients: int, runs: int = 1, chunks: Sequence[str] = CHUNKS,
               store: Store | None = None, timeout_s: float = 120.0) -> LoadReport:
    """``clients`` concurrent clients, each running ``runs`` comparisons one after another; saved
    sessions are read from ``store`` (a ``storage.Store`` on the page's database) or ``/session``."""
    read: Reader | None = None
    if store is not None:
        async def read(session_id: str) -> dict[str, Any]:
            return await asyncio.to_thread(store.get_session, session_id)

    limits = httpx.Limits(max_connections=4 * clients + 8, max_keepalive_connections=4 * clients + 8)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits, trust_env=False) as client:
        async def one_client(k: int) -> list[RunResult]:
            return [await one_run(client, url, models, f"client {k} run {r}: go", chunks, read) for r in range(runs)]

        per_client = await asyncio.gather(*(one_client(k) for k in range(clients)))
    return LoadReport([r for results in per_client for r in results])
