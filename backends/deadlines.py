"""The deadlines of one HTTP attempt, for ``backends.http``: first byte, idle gap, whole attempt.

``Clock`` holds an attempt's deadlines and turns the one that is hit into its timeout error (each
message says what to raise); ``TimedStream`` wraps a response body so every chunk read runs under
the clock (asyncio timeouts, not httpx's read timeout), whatever the parser does between reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from backends import errors
from backends.base import Timeouts


class Clock:
    """The deadlines of one attempt: first byte (response headers and the first body chunk),
    gaps between chunks, the whole attempt (each retry gets a fresh clock)."""

    def __init__(self, timeouts: Timeouts, name: str) -> None:
        now = time.monotonic()
        self.t = timeouts
        self.name = name
        self.first_deadline = now + timeouts.first_byte if timeouts.first_byte is not None else None
        self.total_deadline = now + timeouts.total if timeouts.total is not None else None
        self.got_first = False

    def limit(self) -> tuple[float | None, str | None]:
        """Seconds the next read may take, and which limit that is ("first", "idle", "total").
        The error itself is built only when a limit is hit: this runs for every chunk."""
        now = time.monotonic()
        if not self.got_first and self.first_deadline is not None:
            limit, which = self.first_deadline - now, "first"
        elif self.got_first and self.t.idle is not None:
            limit, which = self.t.idle, "idle"
        else:
            limit, which = None, None
        if self.total_deadline is not None and (limit is None or self.total_deadline - now <= limit):
            limit, which = self.total_deadline - now, "total"
        return (max(limit, 0.0) if limit is not None else None), which

    def error(self, which: str) -> errors.TimeoutError_:
        if which == "first":
            return errors.FirstByteTimeout(
                f"no response from {self.name} within {self.t.first_byte:g} s — the server may be "
                "overloaded; try again, or raise timeouts.first_byte")
        if which == "idle":
            return errors.IdleTimeout(
                f"{self.name} sent nothing for {self.t.idle:g} s mid-stream — the stream stalled; "
                "try again, or raise timeouts.idle")
        return errors.TotalTimeout(
            f"the request to {self.name} took longer than {self.t.total:g} s — "
            "raise timeouts.total, or ask for fewer tokens")

    async def run(self, awaitable: Any) -> Any:
        """Await one read under the current limit."""
        limit, which = self.limit()
        try:
            async with asyncio.timeout(limit):
                return await awaitable
        except TimeoutError:
            assert which is not None
            raise self.error(which) from None


class TimedStream(httpx.AsyncByteStream):
    """A response body whose every chunk read is bounded by the attempt's clock (asyncio
    timeouts, not httpx's read timeout), so idle and total limits hold whatever the parser."""

    def __init__(self, inner: httpx.AsyncByteStream, clock: Clock) -> None:
        self._inner = inner
        self._clock = clock

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            try:
                chunk = await self._clock.run(chunks.__anext__())
            except StopAsyncIteration:
                return
            self._clock.got_first = True
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()
