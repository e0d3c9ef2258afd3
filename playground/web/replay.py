"""Replay a recorded turn in the page at the speed it streamed (1×, 2×, 10×) or at once.

Each lane is replayed from its own ``timeline`` (``[ms since t0, chars]``): its text is cut into
chunks of those sizes, each shown at its recorded time, offset by the lane's recorded queue and
load waits and failed attempts — so a replay shows the race as it was run. The replayed events go through the same
coalescing handler as a live run. Nothing is sent to a model and nothing is saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from backends.base import TextDelta
from playground.engine import figures
from playground.engine.run import LaneEnd, LaneEvent
from storage.document import Output

SPEEDS = {"1×": 1.0, "2×": 2.0, "10×": 10.0, "instant": None}


@dataclass
class ReplayLane:
    """A lane being replayed: what the handler reads (text, status, figures())."""

    output: Output
    chunks: list[str] = field(default_factory=list)
    status: str = "waiting"

    @property
    def model(self) -> str:
        return self.output.model

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def figures(self) -> dict[str, Any]:
        """The recorded figures once the lane has replayed to its end; none before."""
        if self.status == self.output.status:
            return self.recorded
        return {"metrics": {}, "error": None}

    @cached_property
    def recorded(self) -> dict[str, Any]:
        # what a live lane's figures() gives, made once: the page asks for it every frame
        return self.output.model_dump(include={"status", "error", "metrics"})


def schedule(outputs: list[Output]) -> list[tuple[float, int, str | None]]:
    """(seconds from the start, lane, chunk) for every chunk, and (end, lane, None) per lane."""
    items: list[tuple[float, int, str | None]] = []
    for i, o in enumerate(outputs):
        m = o.metrics.model_dump()
        offset = figures.answer_start_ms(m) / 1000
        text, pos, last = o.text, 0, offset
        for ms, chars in o.timeline:
            last = offset + ms / 1000
            items.append((last, i, text[pos:pos + chars]))
            pos += chars
        if pos < len(text):  # a timeline shorter than its text (an imported file): the rest at the end
            items.append((last, i, text[pos:]))
        end = figures.end_ms(m) / 1000
        items.append((max(end, last), i, None))
    return sorted(items, key=lambda item: (item[0], item[2] is None))


class Replay:
    """``events()`` replays ``outputs`` at ``speed`` (None: at once); ``lanes`` are read by the page."""

    def __init__(self, outputs: list[Output], speed: float | None) -> None:
        self.lanes = [ReplayLane(o) for o in outputs]
        self.speed = speed
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    async def events(self) -> AsyncIterator[LaneEvent]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        for at, i, chunk in schedule([lane.output for lane in self.lanes]):
            if self._cancelled:
                break
            if self.speed:
                delay = start + at / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            lane = self.lanes[i]
            if chunk is None:
                lane.status = lane.output.status
                yield LaneEvent(i, loop.time(), LaneEnd(lane.status))
            else:
                lane.chunks.append(chunk)
                lane.status = "replaying"
                yield LaneEvent(i, loop.time(), TextDelta(chunk))
        for i, lane in enumerate(self.lanes):
            if lane.status in ("waiting", "replaying"):
                lane.status = "cancelled" if self._cancelled else lane.output.status
                yield LaneEvent(i, loop.time(), LaneEnd(lane.status))
