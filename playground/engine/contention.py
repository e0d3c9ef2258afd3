"""Who shared what: the CPU budget of local engines and the record of shared resources.

Measured on 2 cores: two llama.cpp engines generating at once with 2 threads each took ~5 s
to the first token instead of ~0.3 s. So local lanes take *turns* on the CPU by default, each
using every core it is given; the explicit *shared* mode splits the cores between the local
lanes of a run instead. Either way the record says what happened: the wait is ``queue_ms``,
and ``contention`` names the lanes that ran on the same CPU (or the same server endpoint) at
the same time, and those a lane waited for.

This module does not run anything; the engine asks it for turns and for the overlap.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class _Use:
    resource: str
    who: str
    overlapped: set[str] = field(default_factory=set)


class Occupancy:
    """Tracks which lanes used a resource ("cpu", or a server endpoint) at the same time."""

    def __init__(self) -> None:
        self._active: dict[int, _Use] = {}
        self._ids = itertools.count()

    def begin(self, resource: str, who: str) -> int:
        use = _Use(resource, who)
        for other in self._active.values():
            if other.resource == resource:
                other.overlapped.add(who)
                use.overlapped.add(other.who)
        token = next(self._ids)
        self._active[token] = use
        return token

    def end(self, token: int) -> list[str]:
        """Stop using; returns the others that used the same resource at some point meanwhile."""
        use = self._active.pop(token, None)
        return sorted(use.overlapped - {use.who}) if use else []

    def holders(self, resource: str) -> list[str]:
        return [u.who for u in self._active.values() if u.resource == resource]


_RESERVED = "(next in line)"


@dataclass(frozen=True)
class Grant:
    threads: int
    waited_for: tuple[str, ...]  # lanes that held the CPU while this one waited


class CpuBudget:
    """Hands out the CPU to local lanes: in turns (FIFO, all cores each) or shared (split)."""

    def __init__(self, cores: int, mode: str = "turns") -> None:
        self.cores = max(1, cores)
        self.mode = mode
        self._queue: deque[asyncio.Future[None]] = deque()
        self._holder: str | None = None
        self._holders: list[str] = []
        self._seen_while_waiting: dict[int, set[str]] = {}

    @asynccontextmanager
    async def turn(self, who: str, share_with: int = 1) -> AsyncIterator[Grant]:
        """Wait for a turn on the CPU. ``share_with``: local lanes of the run (shared mode)."""
        if self.mode == "shared":
            threads = max(1, self.cores // max(1, share_with))
            self._holders.append(who)
            try:
                yield Grant(threads=threads, waited_for=())
            finally:
                self._holders.remove(who)
            return
        waited: set[str] = set()
        if self._holder is not None or self._queue:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._queue.append(fut)
            key = id(fut)
            self._seen_while_waiting[key] = waited
            if self._holder and self._holder is not _RESERVED:
                waited.add(self._holder)
            try:
                await fut
            except BaseException:
                if fut in self._queue:
                    self._queue.remove(fut)
                elif fut.done() and not fut.cancelled():
                    self._release()  # we were handed the turn as we were cancelled: pass it on
                raise
            finally:
                self._seen_while_waiting.pop(key, None)
        self._holder = who
        for others in self._seen_while_waiting.values():
            others.add(who)
        try:
            yield Grant(threads=self.cores, waited_for=tuple(sorted(waited)))
        finally:
            self._release()

    def _release(self) -> None:
        self._holder = None
        while self._queue:
            fut = self._queue.popleft()
            if not fut.done():
                self._holder = _RESERVED  # until the woken waiter runs and names itself
                fut.set_result(None)
                return
