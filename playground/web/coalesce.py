"""The coalescer: many engine events in, at most one page update every ``FLUSH_S`` out.

A pure object (no clock of its own, no I/O): the streaming handler ``feed``s it every event and
asks ``due(now)`` which lanes changed since the last flush. Lanes that show a running clock
(queued, loading) are refreshed once a second even when no event arrives, so "loading model… 9 s"
counts up. One exception to the interval: a lane's first text is flushed at once, so the page adds
as little as possible to the TTFT people watch (at most one extra update per lane). It knows
nothing of Gradio.
"""

from __future__ import annotations

import math
from typing import Any

FLUSH_S = 0.06  # ~16 updates/s: well under the ~400/s a browser keeps up with, fast enough to read
# With a local engine in the run, the browser drawing the page shares this machine's cores with it:
# measured on 2 cores, SmolLM2 in llama.cpp decoded at ~35 tok/s with 60 ms flushes, ~56 with
# 100 ms, ~66 with 150 ms (88 with no page). The page must not be what slows the model down.
LOCAL_FLUSH_S = 0.15
TICK_S = 1.0  # how often a lane's waiting/loading clock is redrawn

_CLOCKED = ("waiting", "loading")  # event kinds that start a clock
_UNCLOCKED = ("started", "text", "end")  # ... and those that stop it


class Coalescer:
    def __init__(self, lanes: int, flush_s: float = FLUSH_S, tick_s: float = TICK_S) -> None:
        self.lanes, self.flush_s, self.tick_s = lanes, flush_s, tick_s
        self.dirty: set[int] = set()
        self.ticking: set[int] = set()
        self.since: dict[int, float] = {}  # lane -> event time its clock started (queued/loading)
        self.detail: dict[int, str] = {}  # lane -> what it waits for ("waiting for the CPU (...)")
        self.urgent: set[int] = set()  # lanes whose first text is not shown yet
        self._texted: set[int] = set()
        self.last = -math.inf
        self.last_tick = -math.inf
        self.flushes = 0
        self.events = 0

    def feed(self, ev: Any) -> None:
        """One ``LaneEvent`` (anything with ``lane``, ``t`` and ``event.kind``)."""
        self.events += 1
        self.dirty.add(ev.lane)
        kind = ev.event.kind
        if kind == "text" and ev.lane not in self._texted:
            self._texted.add(ev.lane)
            self.urgent.add(ev.lane)
        if kind in _CLOCKED:
            self.ticking.add(ev.lane)
            self.since[ev.lane] = ev.t
            self.detail[ev.lane] = getattr(ev.event, "detail", "") or ""
        elif kind in _UNCLOCKED:
            self.ticking.discard(ev.lane)

    def wait_s(self, now: float) -> float | None:
        """Seconds until something may be due; None when nothing is pending (wait for an event)."""
        if self.urgent:
            return 0.0
        if self.dirty:
            return max(0.0, self.last + self.flush_s - now)
        if self.ticking:
            return max(0.0, self.last_tick + self.tick_s - now)
        return None

    def due(self, now: float) -> set[int]:
        """The lanes to redraw now, or an empty set: never twice within ``flush_s`` (but for a
        lane's first text)."""
        if now - self.last < self.flush_s and not self.urgent:
            return set()
        self.urgent.clear()
        changed = set(self.dirty)
        if self.ticking and now - self.last_tick >= self.tick_s:
            changed |= self.ticking
            self.last_tick = now
        if changed:
            self.dirty.clear()
            self.last = now
            self.flushes += 1
        return changed

    def all(self) -> set[int]:
        """Every lane: the final redraw after the stream ends."""
        self.dirty.clear()
        self.ticking.clear()
        self.urgent.clear()
        self.flushes += 1
        return set(range(self.lanes))
