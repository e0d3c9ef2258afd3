"""The fan-out engine: one task per lane, their events merged into one stamped stream.

Each lane's task drives its resolved model (``Runtime.prepare``; resolved here only when the caller
has not), waits for its CPU turn if it is local, and forwards its
backend's events, stamping each with ``time.perf_counter()`` the moment it arrives. A lane's
exception becomes that lane's error; the others go on. Closing the stream (Stop, Ctrl-C, a
closed page) cancels every lane and awaits their clean-up, so HTTP streams are closed and local
generation stops. This module does not render, save or price anything (a lane prices itself as
it finishes); given ``on_end``, a lane's end waits for it (the recorder saving the final record) before any
reader can see that the lane ended.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from backends.base import Event, Message, Params, Request, Waiting
from backends.errors import ConfigError
from playground.engine.lane import LaneState
from playground.engine.runtime import Resolved, Runtime, Target

CANCEL_GRACE_S = 0.2  # how long Stop waits for lanes to close before giving up on them


@dataclass(frozen=True)
class LaneSpec:
    model: str
    messages: tuple[Message, ...]
    params: Params | None = None  # None: the defaults (and a named model's own params)
    repeat: int | None = None
    warmup: bool = False
    resolved: Resolved | None = None  # the id resolved and checked once for the whole run (prepare)
    history_from: str | None = None  # whose answers filled the earlier turns this model missed (session.history)
    system: str | None = None  # the lane's own system prompt, recorded in its params (messages hold it)
    continues: int | None = None  # complete mode: the lane whose continuation the document kept


@dataclass(frozen=True, slots=True)
class LaneEnd:
    """The engine's last event of a lane: its terminal status (ok, error, cancelled)."""

    status: str
    kind = "end"


@dataclass(frozen=True, slots=True)
class LaneEvent:
    lane: int
    t: float
    event: Event | LaneEnd


class _Inbox:
    """The lanes' merged events: a deque plus one waiter (a lighter asyncio.Queue; one reader)."""

    __slots__ = ("items", "_waiter")

    def __init__(self) -> None:
        self.items: deque[LaneEvent] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: LaneEvent) -> None:
        self.items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


class Run:
    """One fan-out. ``async for ev in run.events()`` drives it; ``run.lanes`` holds the states."""

    def __init__(self, runtime: Runtime, specs: list[LaneSpec],
                 on_end: Callable[[int], Awaitable[None]] | None = None) -> None:
        self.runtime = runtime
        self.specs = specs
        self.on_end = on_end  # awaited with a lane's index once its record is final, before it shows
        self.lanes = [LaneState(model=s.model, params=s.params or Params(), repeat=s.repeat,
                                warmup=s.warmup, history_from=s.history_from, system=s.system, continues=s.continues,
                                prompt_chars=sum(len(m.content) for m in s.messages))
                      for s in specs]
        self._inbox = _Inbox()
        self._tasks: list[asyncio.Task[None]] = []
        self._local_lanes = 0
        self._cancelled = False

    def _names(self) -> list[str]:
        seen = [s.model for s in self.specs]
        return [m if seen.count(m) == 1 else f"{m} (lane {i})" for i, m in enumerate(seen)]

    async def events(self) -> AsyncIterator[LaneEvent]:
        names = self._names()
        unresolved = iter(self.runtime.prepare([s.model for s in self.specs if s.resolved is None]))
        targets = [s.resolved or next(unresolved) for s in self.specs]
        self._local_lanes = sum(1 for t in targets if t.local)
        self._tasks = [asyncio.create_task(self._drive(i, names[i], t), name=f"lane-{i}")
                       for i, t in enumerate(targets)]
        if self._cancelled:
            self.cancel()
        pending = len(self._tasks)
        try:
            inbox = self._inbox
            while pending:
                if not inbox.items:
                    await inbox.wait()
                ev = inbox.items.popleft()
                if isinstance(ev.event, LaneEnd):
                    pending -= 1
                yield ev
        finally:
            await self._cancel_all()

    def cancel(self) -> None:
        self._cancelled = True
        for task in self._tasks:
            task.cancel()

    def cancel_lane(self, lane: int) -> bool:
        """Stop one lane now (its text so far kept, status ``cancelled``); the others go on.
        False when that lane is not running (never started, or already ended)."""
        if not 0 <= lane < len(self._tasks) or self._tasks[lane].done() or self.lanes[lane].ended:
            return False
        self._tasks[lane].cancel()
        return True

    async def _cancel_all(self) -> None:
        live = [t for t in self._tasks if not t.done()]
        for task in live:
            task.cancel()
        if live:
            await asyncio.wait(live, timeout=CANCEL_GRACE_S)
        now = time.perf_counter()
        for lane in self.lanes:
            if not lane.done:  # shown once the caller has saved it (Comparison.events)
                lane.finish(now, "cancelled", shown=self.on_end is None)

    async def _drive(self, i: int, name: str, resolved: Resolved) -> None:
        lane = self.lanes[i]
        put = self._inbox.put
        perf = time.perf_counter
        status, error = "ok", None
        occupancy_token = None
        try:
            if resolved.error is not None:
                raise resolved.error
            if resolved.problem:  # checked before: a missing file must not wait for a CPU turn
                raise ConfigError(resolved.problem)
            target = resolved.target
            assert target is not None  # resolved without an error
            lane.provider, lane.provider_model = target.provider, target.model
            lane.label, lane.engine, lane.local = target.label, target.engine, target.local
            lane.params = self.runtime.params_for(target, self.specs[i].params)
            refused = target.backend.mode_problem(lane.params.mode)
            if refused:  # this lane only: the others run
                raise ConfigError(refused)
            request = Request(model=target.model, messages=self.specs[i].messages, params=lane.params)
            if target.local:
                stream = self._local(i, name, target, request)
            else:
                stream = target.backend.stream(request)
                if target.resource:
                    occupancy_token = self.runtime.occupancy.begin(target.resource, name)
            try:
                async for event in stream:
                    t = perf()
                    lane.apply(t, event)
                    put(LaneEvent(i, t, event))
            finally:
                await stream.aclose()
        except asyncio.CancelledError:
            status = "cancelled"
        except Exception as exc:  # noqa: BLE001 - every failure becomes this lane's error
            status, error = "error", exc
        finally:
            if occupancy_token is not None:
                lane.shared_with = self.runtime.occupancy.end(occupancy_token)
            t = perf()
            lane.finish(t, status, error, shown=self.on_end is None)
            if self.on_end is not None:
                await self._saved(i)
            put(LaneEvent(i, t, LaneEnd(status)))

    async def _saved(self, i: int) -> None:
        """Wait for ``on_end(i)``, then show the lane's end. A second Stop during the wait ends
        only the wait: the write goes on, and the recorder's finish waits for it."""
        try:
            await self.on_end(i)
        except asyncio.CancelledError:
            pass
        finally:
            self.lanes[i].show_end()

    async def _local(self, i: int, name: str, target: Target, request: Request) -> AsyncIterator[Event]:
        """A local lane: wait for a CPU turn (that wait is queue_ms), then run on the cores given."""
        lane = self.lanes[i]
        cpu = self.runtime.cpu
        if cpu.mode == "turns":  # a zero-length wait when the CPU is free
            busy = self.runtime.occupancy.holders("cpu")
            yield Waiting("cpu", f"waiting for the CPU ({', '.join(busy)})" if busy else "")
        async with cpu.turn(name, share_with=self._local_lanes) as grant:
            token = self.runtime.occupancy.begin("cpu", name)
            lane.waited_for = list(grant.waited_for)
            lane.threads = grant.threads
            try:
                stream = target.backend.stream(
                    Request(request.model, request.messages, request.params, threads=grant.threads))
                try:
                    async for event in stream:
                        yield event
                finally:
                    await stream.aclose()
            finally:
                lane.shared_with = self.runtime.occupancy.end(token)
